import { describe, expect, it } from 'vitest';
import { guestAddress } from './spec.js';

describe('test-guest spec', () => {
  it('hands out guest addresses from .5 and refuses the ones outside the subnet', () => {
    expect(guestAddress(0)).toBe('10.77.0.5');
    expect(() => guestAddress(246)).toThrow(/outside/);
  });
});
