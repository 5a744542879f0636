// Source, offline copies: the commit carries a manifest line per data chunk, and the target
// takes at most OFFLINE_COMMIT_BODY_LIMIT of them. A file whose data is too fragmented (or too
// large) for that is refused here, before the first byte is copied, instead of by the target
// after hours of copying. The chunk planner lives with the sender, which is loaded here on first
// use so that an idle agent does not load undici.
import { VmhopError } from '../../../protocol/errors.js';
import { MANIFEST_CHUNK_JSON_BYTES, OFFLINE_COMMIT_BODY_LIMIT } from '../../peers/offline-messages.js';

const MIB = 1024 * 1024;

/** Counts each file's chunks; throws VMHOP_ERR_MIGRATION_PREFLIGHT when the manifests cannot fit. */
export async function assertManifestsFit(
  files: ReadonlyArray<{ key: string; path: string }>,
  limitBytes = OFFLINE_COMMIT_BODY_LIMIT,
): Promise<void> {
  const { chunksOf } = await import('./send-volume.js');
  const counts = await Promise.all(
    files.map(async (f) => ({ ...f, chunks: (await chunksOf(f.path)).length })),
  );
  const total = counts.reduce((s, f) => s + f.chunks, 0);
  // Room for the definition and the framing besides the chunks.
  const budget = Math.floor((limitBytes - 64 * 1024) / MANIFEST_CHUNK_JSON_BYTES);
  if (total <= budget) return;
  const worst = counts.reduce((a, b) => (b.chunks > a.chunks ? b : a));
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_PREFLIGHT',
    `the files to copy hold ${total} data chunks (\`${worst.key}\` alone ${worst.chunks}), more than the ` +
      `${budget} an offline commit can list (${limitBytes / MIB} MiB): nothing was copied. Make the data ` +
      'contiguous by rewriting the image (`qemu-img convert -O qcow2 OLD NEW` while the VM is off), or move the disk in parts',
    { chunks: total, budget, key: worst.key, keyChunks: worst.chunks },
  );
}
