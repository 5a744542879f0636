import { describe, expect, it } from 'vitest';
import { parseMember } from '../cluster/records.js';
import { loadWorthWriting } from './member-load.js';

const GiB = 1024 ** 3;
const load = (freeGiB: number, vmCount: number) => ({
  load: { memoryFreeBytes: freeGiB * GiB, vmCount, at: '2026-12-03T09:00:00.000Z' },
  qemu: { version: '7.2.0', accel: 'kvm' as const },
});

describe('loadWorthWriting', () => {
  it('skips a free-memory change of at most 5 % of the total', () => {
    expect(loadWorthWriting(load(10, 3), load(10.7, 3), 16 * GiB)).toBe(false);
  });
  it('writes a free-memory change past 5 % of the total', () => {
    expect(loadWorthWriting(load(10, 3), load(9.1, 3), 16 * GiB)).toBe(true);
  });
  it('writes when the VM count changed, however little memory moved', () => {
    expect(loadWorthWriting(load(10, 3), load(10, 4), 16 * GiB)).toBe(true);
  });
  it('writes when the QEMU facts appeared (the probe finished after the join)', () => {
    const { qemu: _qemu, ...before } = load(10, 3);
    expect(loadWorthWriting(before, load(10, 3), 16 * GiB)).toBe(true);
  });
});

describe('member records', () => {
  const old = {
    name: 'a',
    url: 'https://a:8443',
    migrationAddress: '10.0.0.1',
    agentVersion: '0.1.0',
    protocolVersions: { min: 1, max: 3 },
    maintenance: false,
  };
  it('keeps a record of an agent without qemu and load valid', () => {
    expect(parseMember('/p/members/a', 'a', JSON.stringify(old))).toEqual(old);
  });
  it('reads qemu and load, and refuses an accel it does not know', () => {
    const rec = { ...old, ...load(1, 0) };
    expect(parseMember('/p/members/a', 'a', JSON.stringify(rec))).toEqual(rec);
    const bad = parseMember(
      '/p/members/a',
      'a',
      JSON.stringify({ ...rec, qemu: { version: '9', accel: 'hvf' } }),
    );
    expect(bad).toMatchObject({ code: 'VMHOP_ERR_CLUSTER_RECORD_INVALID' });
  });
});
