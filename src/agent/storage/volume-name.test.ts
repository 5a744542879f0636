import { describe, expect, it } from 'vitest';
import { volumeNameProblem } from './volume-name.js';

describe('volume names', () => {
  it.each(['disk0.qcow2', 'a', 'web-01_root.raw', 'x+y.img', 'A'.repeat(128)])('accepts %s', (name) => {
    expect(volumeNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['an empty name', '', /is empty/],
    ['a parent reference', '../x', /contains `\/`/],
    ['a subdirectory', 'a/b', /contains `\/`: a volume is a file directly in its pool/],
    ['a bare ..', '..', /contains `..`/],
    ['a .. inside', 'a..b', /contains `..`/],
    ['a hidden name', '.vmhop-pool', /starts with a dot/],
    ['a NUL', 'a\0b', /`a\\u0000b` contains a control character/],
    ['a newline', 'a\nb', /`a\\nb` contains a control character/],
    ['a space', 'my disk', /not allowed/],
    ['a colon (a QEMU protocol prefix)', 'nbd:x', /not allowed/],
    ['a too long name', 'a'.repeat(129), /is 129 characters long, more than 128/],
  ])('refuses %s, saying what is allowed', (_what, name, why) => {
    const problem = volumeNameProblem(name);
    expect(problem?.code).toBe('VMHOP_ERR_VOLUME_NAME_INVALID');
    expect(problem?.message).toMatch(why);
    expect(problem?.message).toContain('use letters, digits and _ . + -');
    expect(problem?.message).not.toContain('\n');
  });
});
