// Benchmark: offline migration of a stopped VM whose 1 GiB qcow2 holds DISK_DATA of data,
// between test-bed hosts a and b, over the migration link shaped (tc tbf 100 Mbit, as the
// other benches) and unshaped. Rounds interleave, in the same run: vmhop as it is, vmhop
// from another checkout (VMHOP_BENCH_BEFORE: a tree built with `tsc -p tsconfig.build.json`,
// its agents and CLI swapped in for its rounds), and the ceiling: a raw TCP stream of as many
// bytes as vmhop put on the wire, written and fsynced on the target.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { JobInfo } from '../src/protocol/migration.js';
import { AGENT_NODE_FLAGS } from '../src/agent/node-flags.js';
import * as testbed from '../src/testbed/testbed.js';
import { nsenterArgs, runOnHost } from '../src/testbed/host-exec.js';
import { HOST_DATA_DIR, type HostPlan } from '../src/testbed/plan.js';
import { readState, writeState } from '../src/testbed/state.js';
import { killAndWait } from '../src/agent/process/signals.js';
import { REPO_ROOT } from '../src/repo/paths.js';

const MIB = 1048576;
const DISK_DATA = 300 * MIB;
const VM = 'bench-off';
const VOL = `${VM}-vda.qcow2`;
const LINKS = [
  { name: 'shaped 100 Mbit', shaping: { rate: '100mbit' } },
  { name: 'unshaped', shaping: {} },
];
const RAW_PORT = 5599;

const cliOf = (root: string) => (args: string[]) =>
  execa(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), '--json', ...args], {
    reject: false,
    timeout: 900_000,
  });

/** Ends the test bed's agents and starts the ones built in `root` with the same configs. */
async function swapAgents(root: string, hosts: HostPlan[]) {
  const state = (await readState())!;
  for (const p of state.processes.filter((x) => x.what === 'agent')) await killAndWait(p.pid);
  const processes = state.processes.filter((x) => x.what !== 'agent');
  for (const h of hosts) {
    const log = openSync(`${h.backingRun}/agent.log`, 'a');
    const main = join(root, 'dist', 'src', 'agent', 'main.js');
    const child = spawn(
      'nsenter',
      [
        ...nsenterArgs(h),
        process.execPath,
        // This tree's agents as the test bed starts them; the other tree's as it was.
        ...(root === REPO_ROOT ? AGENT_NODE_FLAGS : []),
        main,
        'run',
        '--config',
        `${HOST_DATA_DIR}/agent.json`,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    processes.push({ pid: child.pid!, host: h.name, what: 'agent' });
  }
  await writeState({ ...state, processes });
  const cli = cliOf(root);
  for (const h of hosts) {
    const until = Date.now() + 20_000;
    while ((await cli(['-c', h.name, 'list'])).exitCode !== 0) {
      if (Date.now() > until) throw new Error(`the agent of ${h.name} from ${root} did not come up`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** One offline move with the CLI of `root`: command-to-return time and the job's own figures. */
async function vmhopMove(root: string, from: string, to: string) {
  const t0 = performance.now();
  const r = await cliOf(root)(['-c', from, 'migrate', VM, '--to', to, '--offline', '--delete-source']);
  const cliS = (performance.now() - t0) / 1000;
  const job = JSON.parse(r.stdout) as JobInfo;
  if (job.state !== 'completed') throw new Error(`offline move ${from}->${to} failed: ${r.stdout}`);
  const rep = job.report!;
  const wireBytes = Object.values(rep.diskBytes ?? {}).reduce((s, v) => s + v, 0);
  return {
    cliS: +cliS.toFixed(2),
    jobS: +(rep.totalMs / 1000).toFixed(2),
    setupS: +((rep.setupMs ?? 0) / 1000).toFixed(2),
    wireMiB: +(wireBytes / MIB).toFixed(1),
    wireBytes,
  };
}

const RECEIVER = `const net=require('net'),fs=require('fs');const [a,p,out]=process.argv.slice(1);
const s=net.createServer(c=>{const fd=fs.openSync(out,'w');const w=fs.createWriteStream(null,{fd,autoClose:false});
c.pipe(w);w.on('finish',()=>{fs.fsyncSync(fd);fs.closeSync(fd);s.close();});});s.listen(+p,a,()=>console.log('ready'));`;
const SENDER = `const net=require('net'),fs=require('fs');const [a,p,f,n]=process.argv.slice(1);
const c=net.connect(+p,a,()=>fs.createReadStream(f,{start:0,end:+n-1,highWaterMark:1<<20}).pipe(c));`;

/** The ceiling: `bytes` of the same file over plain TCP on the same link, fsynced on arrival. */
async function rawStream(from: HostPlan, to: HostPlan, bytes: number) {
  const out = `${HOST_DATA_DIR}/bench-raw.out`;
  const rx = execa('nsenter', [
    ...nsenterArgs(to),
    process.execPath,
    '-e',
    RECEIVER,
    to.migrationAddress,
    String(RAW_PORT),
    out,
  ]);
  await new Promise<void>((res, rej) => {
    rx.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res());
    rx.catch(rej);
  });
  const t0 = performance.now();
  const file = `${HOST_DATA_DIR}/pools/default/${VOL}`;
  await runOnHost(from, [
    process.execPath,
    '-e',
    SENDER,
    to.migrationAddress,
    String(RAW_PORT),
    file,
    String(bytes),
  ]);
  await rx;
  const s = (performance.now() - t0) / 1000;
  await runOnHost(to, ['rm', '-f', out]);
  return { s: +s.toFixed(2), MiB: +(bytes / MIB).toFixed(1) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const summary = (xs: number[]) => ({ medianS: median(xs), minS: Math.min(...xs), maxS: Math.max(...xs) });

export async function benchOffline(opts: { rounds?: number } = {}): Promise<Record<string, unknown>> {
  const rounds = opts.rounds ?? Number(process.env.VMHOP_BENCH_ROUNDS ?? 3);
  const before = process.env.VMHOP_BENCH_BEFORE;
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'] });
  const hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  const byName = Object.fromEntries(hosts.map((h) => [h.name, h]));
  let at = 'a';
  const cli = cliOf(REPO_ROOT);
  try {
    await cli(['-c', 'a', 'create', VM, '--test-guest', '--disk', '1G', '--memory', '128']);
    await execa('qemu-io', [
      '-f',
      'qcow2',
      '-c',
      `write -P 0xab 0 ${DISK_DATA}`,
      `${hosts[0]!.backingData}/pools/default/${VOL}`,
    ]);
    const rows: Record<string, Record<string, unknown>> = {};
    for (const link of LINKS) {
      await testbed.shape(link.shaping);
      const runs: Record<string, Record<string, number>[]> = {
        vmhop: [],
        ...(before ? { before: [] } : {}),
        raw: [],
      };
      for (let round = 0; round < rounds; round++) {
        for (const [variant, root] of [...(before ? [['before', before]] : []), ['vmhop', REPO_ROOT]] as [
          string,
          string,
        ][]) {
          await swapAgents(root, hosts);
          const to = at === 'a' ? 'b' : 'a';
          const r = await vmhopMove(root, at, to);
          at = to;
          runs[variant]!.push(r);
          // The file now lives on `at`: the same bytes go back the other way (both ends are shaped alike).
          const raw = await rawStream(byName[at]!, byName[at === 'a' ? 'b' : 'a']!, r.wireBytes);
          runs.raw!.push({ s: raw.s, MiB: raw.MiB });
        }
      }
      rows[link.name] = Object.fromEntries(
        Object.entries(runs).map(([k, v]) => [
          k,
          {
            ...summary(v.map((x) => x.cliS ?? x.s!)),
            ...(k === 'raw' ? {} : { jobS: summary(v.map((x) => x.jobS!)) }),
            runs: v,
          },
        ]),
      );
    }
    return {
      vm: { diskGiB: 1, diskDataMiB: DISK_DATA / MIB },
      rounds,
      before: before ?? null,
      links: rows,
    };
  } finally {
    await swapAgents(REPO_ROOT, hosts).catch(() => undefined);
    await cli(['-c', at, 'undefine', VM]);
    await cli(['-c', at, 'vol-delete', `default/${VOL}`]);
    await testbed.down();
  }
}
