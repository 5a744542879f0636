import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VmhopError } from '../../protocol/errors.js';
import * as qemuImg from './qemu-img.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-qemu-img-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writePattern(path: string, offset: string, length: string, format = 'qcow2'): Promise<void> {
  await execa('qemu-io', ['-f', format, '-c', `write -P 0xab ${offset} ${length}`, path]);
}

describe('qemu-img info and create', () => {
  it('reports virtual and allocated size of a sparse qcow2', async () => {
    const img = join(dir, 'a.qcow2');
    await qemuImg.create(img, { format: 'qcow2', sizeBytes: GiB });
    await writePattern(img, '0', '10M');
    const i = await qemuImg.info(img, { format: 'qcow2' });
    expect(i).toMatchObject({ format: 'qcow2', virtualSizeBytes: GiB, dirty: false, corrupt: false });
    expect(i.actualSizeBytes).toBeGreaterThanOrEqual(10 * MiB);
    expect(i.actualSizeBytes).toBeLessThan(12 * MiB);
  });

  it('follows a backing chain nearest first, with absolute paths', async () => {
    const base = join(dir, 'base.qcow2');
    const top = join(dir, 'top.qcow2');
    await qemuImg.create(base, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuImg.create(top, { format: 'qcow2', backing: { file: base, format: 'qcow2' } });
    const chain = await qemuImg.infoChain(top);
    expect(chain.map((c) => c.filename)).toEqual([top, base]);
    expect(chain[0]).toMatchObject({
      fullBackingFilename: base,
      backingFormat: 'qcow2',
      virtualSizeBytes: 64 * MiB,
    });
  });

  it('reads the image alone when its backing file is gone, and fails on the chain', async () => {
    const base = join(dir, 'base.qcow2');
    const top = join(dir, 'top.qcow2');
    await qemuImg.create(base, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuImg.create(top, { format: 'qcow2', backing: { file: base, format: 'qcow2' } });
    await rm(base);
    expect((await qemuImg.info(top)).fullBackingFilename).toBe(base);
    await expect(qemuImg.infoChain(top)).rejects.toThrow(`Could not open '${base}'`);
  });

  it('keeps the argv and stderr of a failed command', async () => {
    const missing = join(dir, 'missing.qcow2');
    const err = await qemuImg.info(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmhopError);
    expect(err).toMatchObject({
      code: 'VMHOP_ERR_COMMAND_FAILED',
      details: { command: ['qemu-img', 'info', '--output=json', '-U', missing], exitCode: 1 },
    });
    expect((err as VmhopError).details.stderr).toMatch(/No such file or directory/);
    expect((err as VmhopError).message).toContain(`qemu-img info --output=json -U ${missing}`);
  });

  it('refuses a relative path, which qemu-img could read as an option', async () => {
    await expect(qemuImg.info('-f')).rejects.toMatchObject({ code: 'VMHOP_ERR_INTERNAL' });
  });
});

describe('qemu-img resize', () => {
  it('grows, and shrinks only with shrink', async () => {
    const img = join(dir, 'r.qcow2');
    await qemuImg.create(img, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuImg.resize(img, { format: 'qcow2', sizeBytes: 128 * MiB });
    expect((await qemuImg.info(img)).virtualSizeBytes).toBe(128 * MiB);
    await expect(qemuImg.resize(img, { format: 'qcow2', sizeBytes: 32 * MiB })).rejects.toThrow(/--shrink/);
    await qemuImg.resize(img, { format: 'qcow2', sizeBytes: 32 * MiB, shrink: true });
    expect((await qemuImg.info(img)).virtualSizeBytes).toBe(32 * MiB);
  });
});

describe('qemu-img map, convert and compare', () => {
  it('counts data extents, and only the top layer when asked', async () => {
    const base = join(dir, 'base.qcow2');
    const top = join(dir, 'top.qcow2');
    await qemuImg.create(base, { format: 'qcow2', sizeBytes: 64 * MiB });
    await writePattern(base, '0', '8M');
    await qemuImg.create(top, { format: 'qcow2', backing: { file: base, format: 'qcow2' } });
    await writePattern(top, '16M', '2M');
    const extents = await qemuImg.map(top, { format: 'qcow2' });
    expect(qemuImg.dataBytes(extents)).toBe(10 * MiB);
    expect(qemuImg.dataBytes(extents, { topOnly: true })).toBe(2 * MiB);
  });

  it('dumps a sparse raw image to a small qcow2 with identical content', async () => {
    const raw = join(dir, 'disk.raw');
    const out = join(dir, 'dump.qcow2');
    await qemuImg.create(raw, { format: 'raw', sizeBytes: 256 * MiB });
    await writePattern(raw, '1M', '3M', 'raw');
    await qemuImg.convert(raw, out, { sourceFormat: 'raw', targetFormat: 'qcow2' });
    const i = await qemuImg.info(out, { format: 'qcow2' });
    expect(i.virtualSizeBytes).toBe(256 * MiB);
    expect(i.actualSizeBytes).toBeLessThan(5 * MiB);
    expect(await qemuImg.compare(raw, out, { formatA: 'raw', formatB: 'qcow2' })).toEqual({
      identical: true,
    });
  });

  it('reports where two images differ', async () => {
    const a = join(dir, 'a.raw');
    const b = join(dir, 'b.raw');
    await qemuImg.create(a, { format: 'raw', sizeBytes: 4 * MiB });
    await qemuImg.create(b, { format: 'raw', sizeBytes: 4 * MiB });
    await writePattern(b, '1M', '4k', 'raw');
    const r = await qemuImg.compare(a, b, { formatA: 'raw', formatB: 'raw' });
    expect(r).toEqual({ identical: false, mismatch: 'Content mismatch at offset 1048576!' });
  });

  it('keeps only the differing data when converting against a backing file', async () => {
    const base = join(dir, 'base.qcow2');
    const full = join(dir, 'full.qcow2');
    const delta = join(dir, 'delta.qcow2');
    await qemuImg.create(base, { format: 'qcow2', sizeBytes: 64 * MiB });
    await writePattern(base, '0', '8M');
    await qemuImg.create(full, { format: 'qcow2', backing: { file: base, format: 'qcow2' } });
    await writePattern(full, '32M', '1M');
    const backing = { file: base, format: 'qcow2' } as const;
    await qemuImg.convert(full, delta, { sourceFormat: 'qcow2', targetFormat: 'qcow2', backing });
    expect(qemuImg.dataBytes(await qemuImg.map(delta), { topOnly: true })).toBe(1 * MiB);
    expect((await qemuImg.compare(full, delta)).identical).toBe(true);
  });

  it('stops a convert when its signal aborts', async () => {
    const raw = join(dir, 'big.raw');
    await qemuImg.create(raw, { format: 'raw', sizeBytes: 64 * MiB });
    const ac = new AbortController();
    ac.abort(new Error('user cancelled'));
    await expect(
      qemuImg.convert(raw, join(dir, 'out.qcow2'), {
        sourceFormat: 'raw',
        targetFormat: 'qcow2',
        signal: ac.signal,
      }),
    ).rejects.toThrow('user cancelled');
  });
});

describe('qemu-img rebase', () => {
  it('repoints an overlay at a copy of its base without touching data', async () => {
    const base = join(dir, 'base.qcow2');
    const moved = join(dir, 'moved.qcow2');
    const top = join(dir, 'top.qcow2');
    await qemuImg.create(base, { format: 'qcow2', sizeBytes: 64 * MiB });
    await qemuImg.create(top, { format: 'qcow2', backing: { file: base, format: 'qcow2' } });
    await qemuImg.convert(base, moved, { sourceFormat: 'qcow2', targetFormat: 'qcow2' });
    await qemuImg.rebase(top, { format: 'qcow2', backing: { file: moved, format: 'qcow2' }, unsafe: true });
    expect((await qemuImg.info(top)).fullBackingFilename).toBe(moved);
  });
});

describe('qemu-img check', () => {
  it('finds a fresh image clean and a raw image uncheckable', async () => {
    const img = join(dir, 'c.qcow2');
    await qemuImg.create(img, { format: 'qcow2', sizeBytes: 16 * MiB });
    expect(await qemuImg.check(img)).toMatchObject({ status: 'clean', report: { 'check-errors': 0 } });
    const raw = join(dir, 'c.raw');
    await qemuImg.create(raw, { format: 'raw', sizeBytes: 16 * MiB });
    expect(await qemuImg.check(raw, { format: 'raw' })).toEqual({ status: 'unsupported' });
  });

  it('reports corruption in a truncated qcow2', async () => {
    const img = join(dir, 'cut.qcow2');
    await qemuImg.create(img, { format: 'qcow2', sizeBytes: 64 * MiB });
    await writePattern(img, '0', '4M');
    await truncate(img, MiB);
    expect((await stat(img)).size).toBe(MiB);
    const r = await qemuImg.check(img, { format: 'qcow2' });
    expect(r.status).toBe('corrupt');
  });
});
