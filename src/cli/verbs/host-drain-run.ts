// `vmhop host drain HOST` without --dry-run (issue 17 §1): asks HOST's agent to execute the
// drain (POST /v1/host/drain), then follows it (GET /v1/host/drains/ID, once a second) and
// prints one line each time a VM's move changes (queued, moving, moved, failed, cancelled),
// then the report. Exits 0 only if every VM moved; otherwise VMHOP_ERR_DRAIN_INCOMPLETE with
// the report in its details.
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentClient } from '../../client/agent-client.js';
import type { z } from 'zod';
import type { DrainJob, DrainStartRequest, DrainVm } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import { table } from '../../terminal/emit.js';
import { duration } from '../output/progress-line.js';
import { formatSize } from '../output/sizes.js';

/** How often the drain is read while it runs. */
const FOLLOW_INTERVAL_MS = 1_000;

export async function runDrain(
  c: AgentClient,
  body: z.input<typeof DrainStartRequest>,
  live: ((line: string) => void) | undefined,
): Promise<DrainJob> {
  let d = await c.call<DrainJob>('POST', '/v1/host/drain', body);
  live?.(
    `draining ${d.host} (drain ${d.id}): ${d.vms.length} to move, ${d.unplaceable.length} cannot move; ` +
      `the host takes no new VMs until \`vmhop host undrain ${d.host}\``,
  );
  for (const u of d.unplaceable) live?.(`${u.vm}: cannot move: ${u.reason}`);
  const seen = new Map<string, string>();
  for (;;) {
    for (const v of d.vms) {
      const line = vmLine(v);
      if (seen.get(v.vm) !== line) live?.(line);
      seen.set(v.vm, line);
    }
    if (d.state !== 'running') return d;
    await delay(FOLLOW_INTERVAL_MS);
    d = await c.call<DrainJob>('GET', `/v1/host/drains/${d.id}`);
  }
}

/** Tenths under a minute (a move of 0.4 s is not "0s"); the usual duration above. */
const secs = (s: number) => (s < 60 ? `${s.toFixed(1)}s` : duration(s));

/** One VM's move in one line: `#1 web -> b live-shared: moved in 4.2 s, pause 130 ms, 256 MiB`. */
export function vmLine(v: DrainVm): string {
  const head = `#${v.order} ${v.vm} -> ${v.to} ${v.mode}: ${v.state}`;
  const figures = [
    v.seconds !== undefined ? `in ${secs(v.seconds)}` : '',
    v.pauseMs !== undefined ? `pause ${v.pauseMs} ms` : '',
    v.bytes ? formatSize(v.bytes) : '',
  ].filter(Boolean);
  const tail = v.error ? ` (${v.error.code}: ${v.error.message})` : '';
  return `${head}${figures.length ? ` ${figures.join(', ')}` : ''}${tail}`;
}

export function humanDrainReport(d: DrainJob): string {
  const t = d.total;
  const head =
    `drain ${d.id} of ${d.host}: ${d.state}; ${t.moved} of ${t.vms} VMs moved, ${t.failed} failed, ` +
    `${t.cancelled} cancelled, ${d.unplaceable.length} could not move; ${secs(t.seconds)}, ${formatSize(t.bytes)}`;
  const rows = d.vms.map((v) => [
    String(v.order),
    v.vm,
    v.to,
    v.mode,
    v.state,
    v.seconds !== undefined ? secs(v.seconds) : '-',
    v.pauseMs !== undefined ? `${v.pauseMs} ms` : '-',
    v.bytes ? formatSize(v.bytes) : '-',
  ]);
  const parts = [head];
  if (rows.length) parts.push(table(['#', 'VM', 'TO', 'MODE', 'STATE', 'TIME', 'PAUSE', 'BYTES'], rows));
  const why = [
    ...d.vms.filter((v) => v.error).map((v) => [v.vm, `${v.error!.code}: ${v.error!.message}`]),
    ...d.unplaceable.map((u) => [u.vm, u.reason]),
  ];
  if (why.length) parts.push(`not moved:\n${table(['VM', 'WHY'], why)}`);
  return parts.join('\n\n');
}

/** A drain that left VMs behind is an error of the command, with the report as its details. */
export function refuseIncomplete(d: DrainJob): void {
  if (d.state === 'completed') return;
  const left = [
    ...d.vms.filter((v) => v.state !== 'moved').map((v) => v.vm),
    ...d.unplaceable.map((u) => u.vm),
  ];
  throw new VmhopError(
    'VMHOP_ERR_DRAIN_INCOMPLETE',
    `drain ${d.id} of \`${d.host}\` ended ${d.state}: ${left.join(', ')} still on \`${d.host}\` (see \`vmhop host drain-status ${d.host}\`); the host stays in maintenance until \`vmhop host undrain ${d.host}\``,
    { drain: d },
  );
}
