import { describe, expect, it } from 'vitest';
import { isVmhopError } from '../../protocol/errors.js';
import { VncTickets } from './vnc-tickets.js';

const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isVmhopError(e)) return e.code;
    throw e;
  }
  return 'accepted';
};

describe('VncTickets', () => {
  it('opens one console per ticket, for its own VM only', () => {
    const t = new VncTickets();
    const a = t.issue('a', 'admin');
    expect(refused(() => t.take(a.ticket, 'b'))).toBe('VMHOP_ERR_AUTH_INVALID');
    expect(t.take(a.ticket, 'a').who).toBe('admin');
    expect(refused(() => t.take(a.ticket, 'a'))).toBe('VMHOP_ERR_AUTH_INVALID');
    expect(refused(() => t.take(undefined, 'a'))).toBe('VMHOP_ERR_AUTH_INVALID');
  });

  it('refuses a ticket after its lifetime', () => {
    let now = 1_000;
    const t = new VncTickets(30_000, 64, () => now);
    const a = t.issue('a', 'admin');
    now += 30_000;
    expect(refused(() => t.take(a.ticket, 'a'))).toBe('VMHOP_ERR_AUTH_INVALID');
  });

  it('keeps at most maxOutstanding tickets, dropping the oldest', () => {
    const t = new VncTickets(30_000, 2);
    const [x, y, z] = [t.issue('a', 'w'), t.issue('a', 'w'), t.issue('a', 'w')];
    expect(refused(() => t.take(x.ticket, 'a'))).toBe('VMHOP_ERR_AUTH_INVALID');
    expect(refused(() => t.take(y.ticket, 'a'))).toBe('accepted');
    expect(refused(() => t.take(z.ticket, 'a'))).toBe('accepted');
  });
});
