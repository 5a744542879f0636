// The source counts the chunks its commit will list before copying: a file too fragmented
// for the commit's limit is refused with the figures and the fix, nothing sent.
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempStorage } from '../../storage/testing/temp-storage.js';
import { assertManifestsFit } from './manifest-size.js';

const tmp = new TempStorage();
afterEach(() => tmp.cleanup());

/** A sparse file with `extents` separate 4 KiB data extents, 1 MiB apart. */
async function fragmented(extents: number): Promise<string> {
  const path = join(await tmp.dir(), 'frag.img');
  await writeFile(path, '');
  await truncate(path, extents * 1024 * 1024);
  const fh = await open(path, 'r+');
  for (let i = 0; i < extents; i++) await fh.write(Buffer.alloc(4096, 1), 0, 4096, i * 1024 * 1024);
  await fh.close();
  return path;
}

describe('assertManifestsFit', () => {
  it('passes files whose chunks fit the commit limit', async () => {
    const path = await fragmented(20);
    await expect(assertManifestsFit([{ key: 'p/frag.img', path }])).resolves.toBeUndefined();
  });

  it('refuses, naming the file, the counts and the fix, when the chunks outgrow the limit', async () => {
    const path = await fragmented(20);
    // A limit with room for 10 chunks besides the 64 KiB of framing.
    const limit = 64 * 1024 + 10 * 128;
    await expect(assertManifestsFit([{ key: 'p/frag.img', path }], limit)).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_PREFLIGHT',
      message: expect.stringMatching(
        /hold 20 data chunks \(`p\/frag.img` alone 20\), more than the 10 .*qemu-img convert/,
      ),
      details: { chunks: 20, budget: 10 },
    });
  });
});
