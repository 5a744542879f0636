// Test fixtures for the storage tests: temporary directories, loop devices made from
// temporary files, a tmpfs of a chosen size, and guest-like writes with qemu-io. Everything
// made is recorded and undone by cleanup(), loop devices detached first.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { MemoryPoolStore } from '../pool-store.js';
import { StorageService } from '../storage-service.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export class TempStorage {
  readonly #dirs: string[] = [];
  readonly #loops: string[] = [];
  readonly #mounts: string[] = [];

  async dir(prefix = 'vmhop-storage-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    this.#dirs.push(d);
    return d;
  }

  /** A loop device over a new sparse file of `sizeBytes`. */
  async loopDevice(sizeBytes: number): Promise<string> {
    const file = join(await this.dir('vmhop-loop-'), 'backing.img');
    await execa('truncate', ['-s', String(sizeBytes), file]);
    const { stdout } = await execa('losetup', ['--find', '--show', file]);
    this.#loops.push(stdout.trim());
    return stdout.trim();
  }

  /** A directory on its own small filesystem, to run a pool out of space for real. */
  async smallFilesystem(sizeBytes: number): Promise<string> {
    const d = join(await this.dir('vmhop-tmpfs-'), 'mnt');
    await mkdir(d);
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', d]);
    this.#mounts.push(d);
    return d;
  }

  async cleanup(): Promise<void> {
    for (const l of this.#loops.splice(0)) await execa('losetup', ['--detach', l], { reject: false });
    for (const m of this.#mounts.splice(0)) await execa('umount', [m], { reject: false });
    for (const d of this.#dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/** Writes a byte pattern into an image the way a guest would. */
export async function writePattern(
  path: string,
  offset: string,
  length: string,
  format = 'qcow2',
): Promise<void> {
  await execa('qemu-io', ['-f', format, '-c', `write -P 0xab ${offset} ${length}`, path]);
}

/** A fresh temp folder with a StorageService whose one pool, `default`, is a dir pool there. */
export async function defaultPoolFixture(): Promise<{
  tmp: TempStorage;
  storage: StorageService;
  dir: string;
}> {
  const tmp = new TempStorage();
  const storage = new StorageService(new MemoryPoolStore());
  const dir = await tmp.dir();
  await storage.definePool({ name: 'default', kind: 'dir', path: dir });
  return { tmp, storage, dir };
}
