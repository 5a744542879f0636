// The VM registry's rows: a stored spec is read back completed by VmSpec (rows older than a
// field get its default), and each read hands out its own copy.
import { describe, expect, it } from 'vitest';
import { openDb } from './open.js';
import { VmStore } from './vm-store.js';
import { VmSpec } from '../../protocol/vm-spec.js';

const spec = (name: string) =>
  VmSpec.parse({
    name,
    uuid: '0b7f6b1e-8c55-4d3c-9a57-3f1f1b2c4d5e',
    memoryMiB: 128,
    boot: { kind: 'kernel', kernel: '/boot/vmlinuz' },
  });

describe('VmStore', () => {
  it('reads a row stored before a field existed with that field defaulted', () => {
    const db = openDb(':memory:');
    const store = new VmStore(db);
    store.insert(spec('old'));
    const { vcpus: _vcpus, vnc: _vnc, ...older } = spec('old');
    db.prepare('UPDATE vms SET spec = ? WHERE name = ?').run(JSON.stringify(older), 'old');
    expect(store.get('old')?.spec).toEqual(spec('old'));
    expect(store.list()[0]?.spec).toEqual(spec('old'));
  });

  it('hands out a copy of the spec per read, and reads a changed spec anew', () => {
    const store = new VmStore(openDb(':memory:'));
    store.insert(spec('a'));
    const first = store.get('a')!.spec;
    first.memoryMiB = 4096;
    expect(store.list()[0]?.spec.memoryMiB).toBe(128);
    store.update('a', { spec: { ...spec('a'), vcpus: 4 } });
    expect(store.get('a')?.spec.vcpus).toBe(4);
    store.delete('a');
    store.insert({ ...spec('a'), memoryMiB: 256 });
    expect(store.byUuid(spec('a').uuid)?.spec.memoryMiB).toBe(256);
  });

  it('refuses a stored spec VmSpec does not accept, every time it is read', () => {
    const db = openDb(':memory:');
    const store = new VmStore(db);
    store.insert(spec('bad'));
    db.prepare('UPDATE vms SET spec = ? WHERE name = ?').run(JSON.stringify({ name: 'bad' }), 'bad');
    expect(() => store.get('bad')).toThrow();
    expect(() => store.list()).toThrow();
  });
});
