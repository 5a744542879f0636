// The target's migration listener, for this job only: the agent's RAM gate on the migration
// address (never 0.0.0.0), in front of QEMU's unix socket in the VM's run directory. QEMU is
// started with -incoming defer; migrate-incoming (or migrate-recover, for a post-copy that
// stalled) opens its socket, and only connections the gate judged reach it.
import { rm } from 'node:fs/promises';
import { migrateIncoming, migrateRecover, type QmpExecutor } from '../../../qmp/index.js';
import { RamGate, type GateOptions } from './ram-gate.js';

export type ListenOptions = Omit<GateOptions, 'upstream'> & {
  /** QEMU's side: a unix socket path in the VM's run directory. */
  socket: string;
  /** migrate-recover instead of migrate-incoming: a post-copy's new stream. */
  recover?: boolean;
};

/** Opens the gate, then QEMU's socket behind it; a QEMU that refuses closes the gate again. */
export async function listenIncoming(qmp: QmpExecutor, o: ListenOptions): Promise<RamGate> {
  await rm(o.socket, { force: true });
  const gate = await RamGate.open({ ...o, upstream: o.socket });
  try {
    const uri = `unix:${o.socket}`;
    if (o.recover) await migrateRecover(qmp, { uri }, { timeoutMs: 5_000 });
    else await migrateIncoming(qmp, { uri });
    return gate;
  } catch (e) {
    gate.close();
    throw e;
  }
}
