// `vmhop host undrain HOST [--return]` (issue 17 §1), the agent's part: maintenance ends, and
// with `return` the VMs the last drain moved away that are still on their drain target are
// named, with the way they went. The moves home are ordinary migrations each target starts
// (`POST /v1/migrations` on the target, to this host): an agent never calls another's client
// routes, so the CLI starts them (cli/verbs/host-undrain.ts).
import type { ReturnMove, UndrainReply } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import type { DrainStore } from '../db/drain-store.js';
import type { AgentServices } from '../services.js';

export async function undrain(
  s: AgentServices,
  store: DrainStore,
  wantReturn: boolean,
): Promise<UndrainReply> {
  const host = s.config.name;
  const running = store.running()[0];
  if (running) {
    throw new VmhopError(
      'VMHOP_ERR_DRAIN_RUNNING',
      `drain \`${running.id}\` of host \`${host}\` is still running: cancel it first with \`vmhop host drain-cancel ${host}\`, then undrain`,
      { drain: running.id },
    );
  }
  const wasInMaintenance = store.leaveMaintenance();
  void s.cluster?.updateSelf({ maintenance: false });
  const last = store.latest();
  if (!wantReturn || !last) return { host, wasInMaintenance, returns: [], skipped: [] };
  const returns: ReturnMove[] = [];
  const skipped: UndrainReply['skipped'] = [];
  const peerVms = new Map<string, string[] | Error>();
  for (const v of last.vms.filter((x) => x.state === 'moved')) {
    const here = s.vmStore.get(v.vm);
    // A source keeps its row marked `moved:<host>` while it retires (or for good with keepSource).
    if (here && here.owner === 'local' && here.state !== 'moved') {
      skipped.push({ vm: v.vm, reason: `already on \`${host}\`` });
      continue;
    }
    if (!peerVms.has(v.to)) peerVms.set(v.to, await vmNamesOf(s, v.to));
    const there = peerVms.get(v.to)!;
    if (there instanceof Error)
      skipped.push({ vm: v.vm, reason: `\`${v.to}\` did not answer: ${there.message}` });
    else if (!there.includes(v.vm)) skipped.push({ vm: v.vm, reason: `no longer on \`${v.to}\`` });
    else returns.push({ vm: v.vm, from: v.to, mode: v.mode });
  }
  store.journal(
    last.id,
    `undrained${wantReturn ? `; to return: ${returns.map((r) => r.vm).join(', ') || '(none)'}` : ''}`,
  );
  return { host, wasInMaintenance, drain: last.id, returns, skipped };
}

async function vmNamesOf(s: AgentServices, peer: string): Promise<string[] | Error> {
  try {
    return (await s.peer(peer).hostInfo()).vmNames;
  } catch (e) {
    return e as Error;
  }
}
