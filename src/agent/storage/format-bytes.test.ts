import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [10 * 1024 ** 3, '10.0 GiB'],
    [3.2 * 1024 ** 3, '3.2 GiB'],
    [1536 * 1024 ** 2, '1.5 GiB'],
    [2 * 1024 ** 5, '2.0 PiB'],
  ])('writes %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
