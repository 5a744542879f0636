// The progress of a VM action this page asked for (save, restore, shutdown): the agent's
// `vm.progress` events carrying the action's progressId, drawn with the jobs' progress bar.
import { useState } from 'react';
import type { VmProgress } from '../../../protocol/vm-progress.js';
import { useAgentEvents } from '../../api/events.js';
import { ProgressBar } from '../../charts/ProgressBar.js';
import { bytes, duration, rate } from '../../components/format.js';

export const LONG_ACTIONS: ReadonlySet<string> = new Set(['save', 'restore', 'shutdown']);

export function ActionProgress(props: { host: string; vm: string; label: string; progressId: string }) {
  const [p, setP] = useState<VmProgress>();
  useAgentEvents([props.host], (_h, e) => {
    if (e.type === 'vm.progress' && e.vm === props.vm && e.progressId === props.progressId) setP(e.data);
  });
  if (!p) return null;
  const text =
    p.unit === 'ms'
      ? `${duration(p.done)} of ${duration(p.total)}: ${p.note}`
      : `${bytes(p.done)} of ${bytes(p.total)}${p.rateBps ? `, ${rate(p.rateBps)}` : ''}`;
  return <ProgressBar label={`${props.label} ${props.vm}`} done={p.done} total={p.total} text={text} />;
}
