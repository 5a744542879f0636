// The guest integrity check as a benchmark row's fields: a move that broke the guest must
// read as broken in the report, not as a fast figure (DESIGN.md, "A move is judged by the guest").
import type { IntegrityResult } from '../src/testbed/integrity.js';

export function integrityFields(r: IntegrityResult) {
  return {
    guestIntact: r.ok,
    integrity: r.ok ? `passed: ${r.summary}` : `BROKEN: ${r.summary}`,
    ...(r.ok ? {} : { failures: r.failures, console: r.consoleLines }),
  };
}
