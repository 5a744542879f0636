// A benchmark row: the guest integrity check as its fields (a move that broke the guest must
// read as broken in the report, not as a fast figure: DESIGN.md, "A move is judged by the
// guest"), and a side that failed as its error instead of no report at all.
import type { IntegrityResult } from '../src/testbed/integrity.js';

export function integrityFields(r: IntegrityResult) {
  return {
    guestIntact: r.ok,
    integrity: r.ok ? `passed: ${r.summary}` : `BROKEN: ${r.summary}`,
    ...(r.ok ? {} : { failures: r.failures, console: r.consoleLines }),
  };
}

/**
 * One side of a comparison: its figures, or the error that stopped it, so the other side's
 * row still appears (QEMU 10 has no `migrate -b` for the article's block migration).
 */
export async function rowOf<T>(way: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await way();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
