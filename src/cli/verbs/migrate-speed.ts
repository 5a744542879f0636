// virsh's verbs for a running migration's speed: `migrate-setspeed NAME MiB/s` (0: no cap),
// `migrate-setmaxdowntime NAME ms`, `migrate-getspeed NAME`. They ask the source agent, which
// applies them to its QEMU; the values are checked here first (exit 2) with the allowed range.
import type { Command } from 'commander';
import type { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';
import { SetMaxDowntimeRequest, SetSpeedRequest, type JobSpeed } from '../../protocol/job-speed.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

/** A whole number within the protocol's range for `arg`, or a usage error naming both. */
function wholeIn(schema: z.ZodNumber, arg: string, v: string, hint: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!schema.safeParse(n).success) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${arg} '${v}' is not a whole number from ${schema.minValue} to ${schema.maxValue} (${hint})`,
      { [arg]: v, min: schema.minValue, max: schema.maxValue },
    );
  }
  return n;
}

const path = (name: string, what: string) => `/v1/vms/${encodeURIComponent(name)}/job/${what}`;

export const humanSpeed = (s: JobSpeed) =>
  `${s.vm}: bandwidth ${s.bandwidthMiBs === null ? 'no cap' : `${s.bandwidthMiBs} MiB/s`}, max downtime ${s.maxDowntimeMs} ms`;

export function registerMigrateSpeedVerbs(program: Command): void {
  program
    .command('migrate-setspeed <name> <MiB/s>')
    .description(
      "cap the VM's running migration at MiB/s (0: no cap), on the source host; a live-copy's disk mirrors are not capped",
    )
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const [name, v] = cmd.args as [string, string];
        const mibPerS = wholeIn(SetSpeedRequest.shape.mibPerS, 'MiB/s', v, '0: no cap');
        const r = await withClient(g, (c) => c.call<JobSpeed>('POST', path(name, 'speed'), { mibPerS }));
        emit(g, r, humanSpeed);
      }),
    );

  program
    .command('migrate-setmaxdowntime <name> <ms>')
    .description(
      "set the longest pause the VM's running migration may take at the switchover, on the source host",
    )
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const [name, v] = cmd.args as [string, string];
        const ms = wholeIn(SetMaxDowntimeRequest.shape.ms, 'ms', v, "QEMU's default is 300");
        const r = await withClient(g, (c) => c.call<JobSpeed>('POST', path(name, 'max-downtime'), { ms }));
        emit(g, r, humanSpeed);
      }),
    );

  program
    .command('migrate-getspeed <name>')
    .description("the bandwidth cap and downtime limit the VM's running migration uses now, read from QEMU")
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) => c.call<JobSpeed>('GET', path(cmd.args[0] as string, 'speed')));
        emit(g, r, humanSpeed);
      }),
    );
}
