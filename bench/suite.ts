// The benchmark suite (issue 14 §3): raw QEMU the reference article's way, `virsh migrate`
// (libvirt 11.3 from bookworm-backports, one libvirtd per test-bed host) and vmhop, in one run,
// on the same guest, QEMU binary and 100 Mbit/s link, rounds interleaved (raw, virsh, vmhop,
// raw, ...). Then offline copies (vmhop against a raw stream of the same bytes) and the agent's
// memory and `list` latency. Writes a Markdown table and JSON under bench/results/.
// Usage: npm run bench -- suite [--rounds N] [--only idle,dirty-below,dirty-above,storage-copy,offline,agent]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as testbed from '../src/testbed/testbed.js';
import { startLibvirtd, stopLibvirtd, type LibvirtDaemon } from '../src/testbed/libvirt.js';
import { markdownTable, summariseAll, type Peer, type RunRecord } from '../src/testbed/bench-summary.js';
import { REPO_ROOT } from '../src/repo/paths.js';
import { LINK, MIB, type LiveCase, type LiveFigures } from './figures.js';
import { rawLive } from './live-raw.js';
import { vmhopLive } from './live-vmhop.js';
import { virshLive, type LibvirtPair } from './live-virsh.js';
import { benchOffline } from './offline.js';
import { benchAgent } from './agent.js';
import { NOT_APPLICABLE, ROWS, judgeTargets } from './suite-rows.js';

const CAP_MS = 120_000;
export const LIVE_CASES: LiveCase[] = [
  { name: 'idle', memoryMiB: 256, capMs: CAP_MS },
  { name: 'storage-copy', memoryMiB: 256, diskDataBytes: 100 * MIB, capMs: 2 * CAP_MS },
  // The link moves ~11.9 MiB/s: 4 MiB/s converges, 24 MiB/s over 64 MiB does not without help.
  { name: 'dirty-below', memoryMiB: 256, memMiB: 32, memRateMiBs: 4, capMs: CAP_MS },
  { name: 'dirty-above', memoryMiB: 256, memMiB: 64, memRateMiBs: 24, capMs: CAP_MS },
];
const OTHER = ['offline', 'agent'];

function parseArgs(argv: readonly string[]) {
  let rounds = 3;
  let only = [...LIVE_CASES.map((c) => c.name), ...OTHER];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else if (argv[i] === '--only') only = (argv[++i] ?? '').split(',');
    else throw new Error(`suite: unknown argument ${argv[i]}; use --rounds N, --only SCENARIO[,...]`);
  }
  const known = [...LIVE_CASES.map((c) => c.name), ...OTHER];
  const unknown = only.filter((o) => !known.includes(o));
  if (!Number.isInteger(rounds) || rounds < 1 || unknown.length)
    throw new Error(`suite: --rounds takes a positive integer; --only takes ${known.join(',')}`);
  return { rounds, only };
}

const errorOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 800);

async function startLibvirtPair(): Promise<LibvirtPair> {
  await execa('bash', [join(REPO_ROOT, 'scripts', 'bench-setup.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const a = await startLibvirtd(await testbed.hostOf('a'));
  try {
    return { a, b: await startLibvirtd(await testbed.hostOf('b')) };
  } catch (e) {
    await stopLibvirtd(a);
    throw e;
  }
}

type Progress = (r: RunRecord) => Promise<void>;

async function liveRounds(cases: LiveCase[], rounds: number, record: Progress) {
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'], shaping: { rate: LINK.rate } });
  let pair: LibvirtPair | Error;
  try {
    pair = await startLibvirtPair();
  } catch (e) {
    pair = e instanceof Error ? e : new Error(String(e));
  }
  try {
    for (const c of cases) {
      for (let round = 0; round < rounds; round++) {
        const peers: [Peer, () => Promise<LiveFigures>][] = [
          ['raw', () => rawLive(c)],
          ['virsh', () => (pair instanceof Error ? Promise.reject(pair) : virshLive(c, pair))],
          ['vmhop', () => vmhopLive(c)],
        ];
        for (const [peer, go] of peers) {
          if (NOT_APPLICABLE[c.name]?.[peer]) continue;
          process.stderr.write(`suite: ${c.name} round ${round + 1}/${rounds} ${peer}\n`);
          try {
            await record({ scenario: c.name, peer, round, figures: { ...(await go()) } });
          } catch (e) {
            await record({ scenario: c.name, peer, round, error: errorOf(e) });
          }
        }
      }
    }
  } finally {
    if (!(pair instanceof Error)) for (const d of [pair.a, pair.b] as LibvirtDaemon[]) await stopLibvirtd(d);
    await testbed.down();
  }
}

interface OfflineRun {
  cliS?: number;
  jobS?: number;
  wireMiB?: number;
  s?: number;
  MiB?: number;
}

async function offlineRounds(rounds: number, record: Progress) {
  process.stderr.write('suite: offline (vmhop and a raw stream, interleaved)\n');
  let out: Record<string, unknown>;
  try {
    out = await benchOffline({ rounds });
  } catch (e) {
    for (const peer of ['raw', 'vmhop'] as Peer[])
      await record({ scenario: 'offline', peer, round: 0, error: errorOf(e) });
    return;
  }
  const links = out.links as Record<string, Record<string, { runs: OfflineRun[] }>>;
  for (const [link, byPeer] of Object.entries(links)) {
    const scenario = link.startsWith('shaped') ? 'offline-shaped' : 'offline-unshaped';
    for (const [k, peer] of [
      ['raw', 'raw'],
      ['vmhop', 'vmhop'],
    ] as [string, Peer][]) {
      for (const [round, r] of (byPeer[k]?.runs ?? []).entries()) {
        const figures =
          peer === 'raw'
            ? { finished: true, totalS: r.s, sentMiB: r.MiB }
            : { finished: true, totalS: r.cliS, jobS: r.jobS, sentMiB: r.wireMiB };
        await record({ scenario, peer, round, figures });
      }
    }
  }
}

async function agentRounds(rounds: number, record: Progress) {
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`suite: agent round ${round + 1}/${rounds}\n`);
    try {
      await record({
        scenario: 'agent',
        peer: 'vmhop',
        round,
        figures: { finished: true, ...(await benchAgent()) },
      });
    } catch (e) {
      await record({ scenario: 'agent', peer: 'vmhop', round, error: errorOf(e) });
    }
  }
}

export async function benchSuite(
  argv: readonly string[] = process.argv.slice(3),
): Promise<Record<string, unknown>> {
  const { rounds, only } = parseArgs(argv);
  const dir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const startedAt = new Date().toISOString();
  const records: RunRecord[] = [];
  const write = async () => {
    const summaries = summariseAll(records);
    const table = markdownTable(summaries, ROWS, NOT_APPLICABLE);
    const targets = judgeTargets(summaries);
    const targetLines = targets.map(
      (t) => `- ${t.met === null ? '?' : t.met ? 'met' : 'MISSED'}: ${t.target}: ${t.measured}`,
    );
    const head = `# vmhop benchmark suite, ${startedAt}\n\nQEMU 10 (TCG), ${LINK.rate} test-bed link, 256 MiB guest, ${rounds} interleaved rounds; medians (min-max).\n\n`;
    await writeFile(
      join(dir, `suite-${stamp}.md`),
      `${head}${table}\n## Issue 14 §4 targets\n\n${targetLines.join('\n')}\n`,
    );
    await writeFile(
      join(dir, `suite-${stamp}.json`),
      JSON.stringify({ startedAt, rounds, only, summaries, targets, records }, null, 2),
    );
    return { table, targets };
  };
  const record: Progress = async (r) => {
    records.push(r);
    await write();
  };
  // Short scenarios first, the one that runs into its cap last: a run cut short keeps the most.
  if (only.includes('agent')) await agentRounds(rounds, record);
  if (only.includes('offline')) await offlineRounds(rounds, record);
  const live = LIVE_CASES.filter((c) => only.includes(c.name));
  if (live.length) await liveRounds(live, rounds, record);
  const { table, targets } = await write();
  process.stderr.write(`\n${table}\n`);
  return { results: join(dir, `suite-${stamp}.md`), table, targets };
}
