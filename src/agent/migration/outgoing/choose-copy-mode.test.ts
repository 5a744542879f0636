import { describe, expect, it } from 'vitest';
import { decideCopyMode } from './choose-copy-mode.js';

const MiB = 1048576;

describe('decideCopyMode', () => {
  it('stays in background when the guest writes well under the link rate', () => {
    expect(decideCopyMode(0.5 * MiB, 10 * MiB)).toMatchObject({ mode: 'background' });
  });

  it('chooses write-blocking when the guest writes near the link rate, and says why', () => {
    const d = decideCopyMode(4 * MiB, 5 * MiB);
    expect(d.mode).toBe('write-blocking');
    expect(d.reason).toMatch(/4\.00 MiB\/s.*5\.00 MiB\/s link/);
  });

  it('stays in background without a --bandwidth cap', () => {
    expect(decideCopyMode(50 * MiB, undefined).mode).toBe('background');
  });
});
