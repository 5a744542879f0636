// Writes a set of certificate files so that a failure leaves the old set, not half of a new
// one: every file goes to a temporary name in the same folder first, then all are renamed.
// Private keys are 0600 also when they replace an older, looser file.
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileToWrite {
  name: string;
  content: string;
  /** 0600 for private keys; certificates keep the umask's default, as before. */
  secret?: boolean;
}

export async function writeFilesTogether(dir: string, files: FileToWrite[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = (f: FileToWrite) => join(dir, `.${f.name}.${process.pid}.new`);
  try {
    for (const f of files) {
      await writeFile(temp(f), f.content, { mode: f.secret ? 0o600 : 0o666, flag: 'w' });
      // writeFile's mode applies only to a new file; a temporary left by a crash may exist.
      if (f.secret) await chmod(temp(f), 0o600);
    }
    for (const f of files) await rename(temp(f), join(dir, f.name));
  } finally {
    await Promise.all(files.map((f) => rm(temp(f), { force: true })));
  }
}
