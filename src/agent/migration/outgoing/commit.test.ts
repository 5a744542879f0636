// Where the target's resume falls on the source's clock, from the target's own timing.
import { describe, expect, it } from 'vitest';
import { resumeOf } from './commit.js';

describe('resumeOf', () => {
  it('adds half of the round trip the target did not spend, then the target’s delay to its resume', () => {
    // Sent at 1000, answered at 1300; the target handled it for 200 ms and resumed 150 ms in:
    // 50 ms on the way there, so the resume was at 1000 + 50 + 150.
    expect(resumeOf({ resumedAfterMs: 150, handledMs: 200 }, 1_000, 1_300)).toEqual({ resumedAt: 1_200 });
  });

  it('never places the resume after the answer, nor uses a negative transit', () => {
    expect(resumeOf({ resumedAfterMs: 500, handledMs: 900 }, 1_000, 1_300)).toEqual({ resumedAt: 1_300 });
  });

  it('says nothing when the target did not say when it resumed (an earlier answer was lost)', () => {
    expect(resumeOf({ handledMs: 3 }, 1_000, 1_010)).toEqual({});
    expect(resumeOf({}, 1_000, 1_010)).toEqual({});
  });

  it('passes on a target that committed but could not resume', () => {
    expect(resumeOf({ handledMs: 3, resumeError: 'cont failed' }, 1_000, 1_010)).toEqual({
      resumeError: 'cont failed',
    });
  });
});
