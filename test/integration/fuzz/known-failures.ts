// Bugs the fuzzer found in code another engineer owns, left to them: each entry names the
// owner's area and matches exactly the failing requests, so the suite still runs and reports
// them (under knownFailures in the report) until the fix lands and the entry is removed.
import type { Failure } from './tally.js';

interface Known {
  name: string;
  matches(f: Failure): boolean;
}

// Empty: the two 500s found in the migration code (a peer's prepare, commit, finish or
// post-copy call on a job that already ended here) answer 409 VMHOP_ERR_JOB_ENDED now.
export const KNOWN_FAILURES: Known[] = [];

/** The name of the known bug `f` is, if any. */
export function knownFailure(f: Failure): string | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(f))?.name;
}
