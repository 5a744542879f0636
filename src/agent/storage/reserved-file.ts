// Makes a new file without ever overwriting one: the name is reserved with O_CREAT|O_EXCL
// (which also refuses a symbolic link, dangling or not), then filled by `make` (qemu-img
// create/convert, which would silently truncate an existing image). If `make` fails or is
// aborted, the partial file is removed: it is ours, created a moment ago.
import { open, unlink } from 'node:fs/promises';

export async function makeExclusive<T>(
  path: string,
  onExists: () => Error,
  make: () => Promise<T>,
): Promise<T> {
  try {
    await (await open(path, 'wx', 0o600)).close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw onExists();
    throw e;
  }
  try {
    return await make();
  } catch (e) {
    await unlink(path).catch(() => undefined);
    throw e;
  }
}
