// Source, after the commit: end the source QEMU (its guest now runs on the target) and
// either forget the definition or keep it marked as moved, so it cannot start here while
// the target owns the VM (only an explicit --force does).
import { quit } from '../../../qmp/index.js';
import { killAndWait } from '../../process/signals.js';
import type { MigrationContext } from '../context.js';

export async function retireSource(
  c: MigrationContext,
  vm: string,
  peer: string,
  keepSource: boolean,
): Promise<void> {
  const row = c.vmStore.get(vm);
  const qmp = c.supervisor.qmpOf(vm);
  c.supervisor.expectExit(vm);
  if (qmp) await quit(qmp).catch(() => undefined);
  if (row?.pid) await killAndWait(row.pid, 10_000);
  await c.vms.settle(vm);
  if (keepSource) {
    c.vmStore.update(vm, { owner: `moved:${peer}`, state: 'moved', pid: null });
    c.events.publish({ type: 'vm.state', vm, state: 'moved', reason: `moved to ${peer}` });
  } else {
    c.vmStore.delete(vm);
    c.events.publish({ type: 'vm.undefined', vm });
  }
}
