// A client token as agents store and compare it: its SHA-256 in hex, never the token itself.
// Shared by the agent (config tokenHashes, the token registry, request checks), the test bed
// and tests that write an agent's config; it knows nothing of where tokens are kept.
import { createHash } from 'node:crypto';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
