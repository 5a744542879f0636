import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmSpec } from '../../protocol/vm-spec.js';
import { buildArgv, type HostResources } from './argv.js';

const dir = join(import.meta.dirname, '../../../test/fixtures/argv');
const cases = readdirSync(dir).filter((f) => f.endsWith('.spec.json'));

describe('buildArgv golden files', () => {
  it.each(cases)('%s builds the recorded argv', (file) => {
    const input = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { spec: unknown; host: HostResources };
    const argv = buildArgv(VmSpec.parse(input.spec), input.host);
    const golden = join(dir, file.replace('.spec.json', '.argv.json'));
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(argv, null, 2) + '\n');
    expect(argv).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });
});

describe('VmSpec keeps unsafe strings out of the argv', () => {
  const base = {
    name: 'ok',
    uuid: '6f1c2a7e-2f0b-4f6e-9d7a-1c2b3d4e5f60',
    memoryMiB: 64,
    boot: { kind: 'disk' },
  };
  it.each([
    ['a name with a comma', { name: 'a,b' }],
    ['a machine with an option', { machine: 'pc,accel=kvm' }],
    ['a cpu model with a space', { cpuModel: 'host -S' }],
    ['a relative kernel path', { boot: { kind: 'kernel', kernel: 'vmlinuz' } }],
    ['a kernel path with a comma', { boot: { kind: 'kernel', kernel: '/x,y' } }],
    ['a cmdline with a newline', { boot: { kind: 'kernel', kernel: '/k', cmdline: 'a\nb' } }],
    ['a volume with a slash', { disks: [{ target: 'vda', pool: 'p', volume: '../etc' }] }],
    ['a bad MAC', { nics: [{ mac: '52:54:00:zz:00:01', bridge: 'br0' }] }],
  ])('rejects %s', (_what, patch) => {
    expect(VmSpec.safeParse({ ...base, ...patch }).success).toBe(false);
  });

  it('rejects a disk whose path the host did not resolve', () => {
    const spec = VmSpec.parse({ ...base, disks: [{ target: 'vda', pool: 'p', volume: 'v' }] });
    expect(() => buildArgv(spec, { accel: 'tcg', diskPaths: {}, taps: [], runDir: '/run/x' })).toThrow(/vda/);
  });
});
