// The pre-flight's `policy` check (issue 15 §2): with the prediction of a live migration, whether
// any way the job's policy allows finishes. Allowed: pre-copy as configured (compressed when
// asked), throttled when the options slow the guest, post-copy when they enable it. When none
// converges the check fails with the predicted figures of every way, so the move is refused
// before anything is touched; without a prediction (not measured) nothing is judged here and the
// RAM watcher judges while it runs.
import type { MigrationOptions, PreflightCheck } from '../../protocol/migration.js';
import type { Prediction, Way, WayPrediction } from '../../protocol/prediction.js';
import { policyOf } from './policy.js';

export function policyCheck(o: MigrationOptions, prediction: Prediction | undefined): PreflightCheck[] {
  const policy = policyOf(o);
  if (!policy?.judge || !prediction) return [];
  const allowed = allowedWays(o);
  const finishing = prediction.ways.filter((w) => allowed.includes(w.way) && w.converges);
  if (finishing.length > 0) {
    const best = finishing[0]!;
    return [
      {
        name: 'policy',
        ok: true,
        detail: `policy ${policy.name}: ${best.way} is predicted to finish in ${best.totalS?.toFixed(1)} s with a ${Math.round(best.pauseMs ?? 0)} ms pause`,
      },
    ];
  }
  return [
    {
      name: 'policy',
      ok: false,
      detail:
        `policy ${policy.name} allows ${allowed.join(', ')}, and none is predicted to finish: ` +
        prediction.ways.map(figures).join('; '),
      fix: "pick a policy that allows a way that finishes (--policy finish allows post-copy; throttle slows the guest), raise --bandwidth, or lower the guest's writes; --policy manual runs it anyway until --timeout",
    },
  ];
}

function allowedWays(o: MigrationOptions): Way[] {
  return [
    o.compressed ? 'precopy-compressed' : 'precopy',
    ...(o.autoConverge ? (['precopy-throttled'] as const) : []),
    ...(o.postcopy ? (['postcopy-after-precopy'] as const) : []),
  ];
}

/** Compression is an option, not something a policy forbids: the figures say what turns it on. */
const figures = (w: WayPrediction) =>
  w.converges
    ? `${w.way}: ${w.totalS?.toFixed(1)} s, pause ${Math.round(w.pauseMs ?? 0)} ms (${w.way === 'precopy-compressed' ? 'needs --parallel N --compressed' : 'not allowed'})`
    : `${w.way}: ${w.reason}`;
