// VM verbs, named after virsh: list, dominfo, define, undefine, start, shutdown, destroy,
// suspend, resume, reboot, save, restore, console-log. Save, restore and shutdown draw a
// progress line on stderr while they run, from the agent's `vm.progress` events.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { VmInfo } from '../../protocol/vm.js';
import { VmhopError } from '../../protocol/errors.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit, table } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';
import type { AgentClient } from '../../client/agent-client.js';
import { withVmProgress } from '../events/vm-action-progress.js';
import { renderVmProgress } from '../output/vm-progress-line.js';

const vmPath = (name: string) => `/v1/vms/${encodeURIComponent(name)}`;

/** A drain priority as the spec takes it (-100..100), refused by name before any agent is asked. */
export function priorityOf(text: string): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < -100 || n > 100) {
    throw new VmhopError('VMHOP_ERR_USAGE', `priority '${text}' is not a whole number from -100 to 100`, {
      priority: text,
    });
  }
  return n;
}

export function humanVm(v: VmInfo & { savedState?: boolean }): string {
  const s = v.spec;
  return [
    ['Name', v.name],
    ['UUID', v.uuid],
    ['State', v.state + (v.qemuStatus && v.qemuStatus !== v.state ? ` (QEMU: ${v.qemuStatus})` : '')],
    ['PID', v.pid === null ? '-' : String(v.pid)],
    ['Owner', v.owner === 'local' ? 'this host' : v.owner],
    ['vCPUs', String(s.vcpus)],
    ['Memory', `${s.memoryMiB} MiB`],
    ['Machine', s.machine],
    ['CPU model', s.cpuModel],
    ['Priority', String(s.priority ?? 0)],
    ['Boot', s.boot.kind === 'kernel' ? `kernel ${s.boot.kernel}` : 'disk'],
    ...s.disks.map((d) => [`Disk ${d.target}`, `${d.pool}/${d.volume} (${d.format}, cache=${d.cache})`]),
    ...s.nics.map((n, i) => [`NIC ${i}`, `${n.mac} on bridge ${n.bridge}`]),
    ...(v.savedState !== undefined ? [['Saved state', v.savedState ? 'yes' : 'no']] : []),
  ]
    .map(([k, val]) => `${(k + ':').padEnd(14)}${val}`)
    .join('\n');
}

const simpleActions = [
  ['start', 'start a defined VM', 'started'],
  [
    'shutdown',
    'ask the guest to power off (ACPI), waiting for it (the VM keeps running at the timeout)',
    'shut down',
  ],
  ['destroy', 'power the VM off at once', 'destroyed'],
  ['suspend', 'pause the vCPUs', 'suspended'],
  ['resume', 'continue paused vCPUs', 'resumed'],
  ['reboot', 'reset the VM', 'reset'],
  ['save', 'save RAM and device state to a file and stop the VM', 'saved'],
  ['restore', 'restore a saved VM; it continues where it stopped', 'restored'],
] as const;

/** Actions that can take long: a progress line on stderr while they run (none with --json). */
const LONG_ACTIONS: ReadonlySet<string> = new Set(['save', 'restore', 'shutdown']);

/** As `vmhop migrate` draws its line: redrawn in place on a terminal, every 2 s (and the last) otherwise. */
function withProgressLine<T>(c: AgentClient, act: (progressId: string) => Promise<T>): Promise<T> {
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  let drawn = false;
  return withVmProgress(
    c,
    (p) => {
      if (!tty && !p.ended && Date.now() - lastPrint < 2_000) return;
      const line = renderVmProgress(p, tty ? (process.stderr.columns ?? 100) : 200);
      process.stderr.write(tty ? `\r${line}${p.ended ? '\n' : ''}` : `${line}\n`);
      lastPrint = Date.now();
      drawn = !p.ended;
    },
    act,
  ).finally(() => {
    if (tty && drawn) process.stderr.write('\n');
  });
}

export function registerVmVerbs(program: Command): void {
  program
    .command('list')
    .description('list the VMs of a host')
    .action(
      runVerb(async (_f, g: GlobalOptions) => {
        const r = await withClient(g, (c) => c.call<{ vms: VmInfo[] }>('GET', '/v1/vms'));
        emit(g, r, (x) =>
          table(
            ['NAME', 'STATE', 'VCPUS', 'MEMORY', 'PID'],
            x.vms.map((v) => [
              v.name,
              v.state,
              String(v.spec.vcpus),
              `${v.spec.memoryMiB} MiB`,
              v.pid ? String(v.pid) : '-',
            ]),
          ),
        );
      }),
    );

  program
    .command('dominfo <name>')
    .description('show one VM')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) => c.call<VmInfo>('GET', vmPath(cmd.args[0] as string)));
        emit(g, r, humanVm);
      }),
    );

  program
    .command('define <file>')
    .description('define a VM from a JSON spec file')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const file = cmd.args[0] as string;
        let spec: unknown;
        try {
          spec = JSON.parse(readFileSync(file, 'utf8'));
        } catch (e) {
          throw new VmhopError('VMHOP_ERR_USAGE', `cannot read spec ${file}: ${(e as Error).message}`, {
            file,
          });
        }
        const r = await withClient(g, (c) => c.call<VmInfo>('POST', '/v1/vms', { spec }));
        emit(g, r, (v) => `VM ${v.name} defined`);
      }),
    );

  program
    .command('set-priority <name> <priority>')
    .description('set the drain priority of a VM: -100..100, higher moves first (host drain)')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const [name, text] = cmd.args as [string, string];
        const priority = priorityOf(text);
        const r = await withClient(g, (c) =>
          c.call<VmInfo>('POST', `${vmPath(name)}/priority`, { priority }),
        );
        emit(g, r, (v) => `VM ${v.name}: drain priority ${v.spec.priority ?? 0}`);
      }),
    );

  program
    .command('undefine <name>')
    .description('remove a shut-off VM definition (its volumes stay)')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const r = await withClient(g, (c) => c.call<{ ok: true }>('DELETE', vmPath(name)));
        emit(g, r, () => `VM ${name} undefined`);
      }),
    );

  for (const [verb, description, done] of simpleActions) {
    const c = program.command(`${verb} <name>`).description(description);
    if (verb === 'start')
      c.option('--paused', 'start with vCPUs stopped').option('--force', 'start even if the VM moved away');
    if (verb === 'destroy')
      c.option('--force', 'power off even the source of a migration past its switchover (can lose the VM)');
    if (verb === 'shutdown') c.option('--timeout <seconds>', 'how long to wait for the guest', '60');
    c.action(
      runVerb(async (f: { paused?: boolean; force?: boolean; timeout?: string }, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const body = {
          ...(f.paused ? { paused: true } : {}),
          ...(f.force ? { force: true } : {}),
          ...(f.timeout ? { timeoutMs: Math.round(Number(f.timeout) * 1000) } : {}),
        };
        const ask = (cl: AgentClient, progressId?: string) =>
          cl.call<VmInfo>('POST', `${vmPath(name)}/${verb}`, {
            ...body,
            ...(progressId ? { progressId } : {}),
          });
        const r = await withClient(g, (cl) =>
          LONG_ACTIONS.has(verb) && !g.json ? withProgressLine(cl, (id) => ask(cl, id)) : ask(cl),
        );
        emit(g, r, (v) => `VM ${name} ${done} (state ${v.state})`);
      }),
    );
  }

  program
    .command('console-log <name>')
    .description("print the tail of the VM's serial console")
    .option('--bytes <n>', 'how much of the end to print', '65536')
    .action(
      runVerb(async (f: { bytes: string }, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const text = await withClient(g, (c) =>
          c.raw('GET', `${vmPath(name)}/console?bytes=${Number(f.bytes)}`),
        );
        emit(g, { vm: name, console: text }, (r) => r.console);
      }),
    );
}
