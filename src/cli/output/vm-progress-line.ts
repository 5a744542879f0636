// The progress line of a VM action on stderr (save, restore, shutdown): the action, a bar, the
// percentage, done of total (bytes, or seconds waited of the timeout), the rate and ETA, and the
// agent's note on what happens next (a shutdown's timeout). Same pieces as a migration's line.
import type { VmProgress } from '../../protocol/vm-progress.js';
import { bar, duration, fit, pair, rate } from './progress-line.js';

const SEP = '  ';

export function renderVmProgress(p: VmProgress, width = 80): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const amounts =
    p.unit === 'ms' ? `${duration(p.done / 1000)}/${duration(p.total / 1000)}` : pair(p.done, p.total);
  const numbers = [
    `${Math.floor(fraction * 100)}%`,
    amounts,
    ...(p.rateBps ? [rate(p.rateBps)] : []),
    ...(p.ended
      ? []
      : [`${p.unit === 'ms' ? 'timeout in' : 'ETA'} ${p.etaS === null ? '--' : duration(p.etaS)}`]),
  ].join(SEP);
  return fit([p.operation, bar(fraction, 20), `${numbers} (${p.note})`].join(SEP), width);
}
