// Two agents in one process: the source's peer link calls the target agent's services directly,
// as the target's /v1/peer/* routes do (src/agent/http/routes/peer.ts), without HTTPS and mutual
// TLS between them. QEMU streams still go over real sockets between the two agents' QEMUs.
// What the target throws reaches the source as HttpPeerLink gives it: an answer, so a known
// outcome (`outcomeKnown`), named after the peer; a VmhopError keeps its code. Each message's
// protocol version is checked as the routes check it, and kept in `versions` for the tests; with
// `protocols`, the target plays an agent of another vmhop that speaks only those versions.
import type {
  OfflineCommitRequest,
  OfflinePrepareRequest,
} from '../../../src/agent/peers/offline-messages.js';
import type {
  PeerHostInfo,
  PeerLink,
  PostcopyAction,
  PrepareRequest,
} from '../../../src/agent/peers/peer-link.js';
import { checkProtocol } from '../../../src/agent/migration/incoming/target-side.js';
import type { AgentServices } from '../../../src/agent/services.js';
import { listBridges } from '../../../src/agent/vm/network.js';
import { isVmhopError, VmhopError } from '../../../src/protocol/errors.js';
import { refusalOf, type VersionRange } from '../../../src/protocol/protocol-version.js';

/** The target's error as the source's HttpPeerLink would throw it after an HTTP error reply. */
async function answered<T>(peer: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    const code = isVmhopError(e) ? e.code : 'VMHOP_ERR_INTERNAL';
    const details = isVmhopError(e) ? e.details : {};
    throw new VmhopError(code, `peer \`${peer}\`: ${(e as Error).message}`, {
      ...details,
      peer,
      peerCode: code,
      outcomeKnown: true,
    });
  }
}

export class DirectPeerLink implements PeerLink {
  /** Every message sent, with the protocol version it carried. */
  readonly versions: { call: string; protocolVersion: number }[] = [];

  constructor(
    readonly name: string,
    private target: AgentServices,
    /** The versions the target's agent speaks, when not this vmhop's (an agent before 3 speaks one). */
    private readonly protocols?: VersionRange,
  ) {}

  /** The peer agent restarted: its calls go to its new services. */
  retarget(services: AgentServices): void {
    this.target = services;
  }

  async hostInfo(): Promise<PeerHostInfo> {
    const p = this.protocols;
    return {
      ...(await this.target.hostInfo()),
      ...(p ? { protocolVersion: p.min, protocolVersions: p.max >= 3 ? p : undefined } : {}),
      bridges: await listBridges(),
      vmNames: this.target.vmStore.list().map((v) => v.name),
    };
  }

  /** The version check of the target's routes, on a message `call` of `protocolVersion`. */
  private versioned(call: string, protocolVersion: number): void {
    this.versions.push({ call, protocolVersion });
    const refusal = this.protocols && refusalOf(protocolVersion, this.protocols);
    if (refusal) throw new VmhopError('VMHOP_ERR_PEER_PROTOCOL', refusal, { theirs: protocolVersion });
    checkProtocol(protocolVersion);
  }

  async checkProbe(pool: string, nonce: string, protocolVersion: number) {
    await answered(this.name, async () => this.versioned('checkProbe', protocolVersion));
    const info = await this.target.storage.poolInfo(pool).catch(() => undefined);
    if (!info || info.kind !== 'shared') return { seen: false };
    return {
      seen: await this.target.storage.checkProbe(pool, nonce),
      ...(info.markerId ? { markerId: info.markerId } : {}),
    };
  }

  async volumeInfo(pool: string, name: string) {
    return this.target.storage.volumeInfo(pool, name).catch(() => undefined);
  }

  prepare(req: PrepareRequest) {
    return answered(this.name, () => {
      this.versioned('prepare', req.protocolVersion);
      return this.target.engine.target.prepare(req);
    });
  }

  finish(jobId: string, protocolVersion: number) {
    return answered(this.name, () => {
      this.versioned('finish', protocolVersion);
      return this.target.engine.target.finish(jobId);
    });
  }

  abort(jobId: string, reason: string, protocolVersion: number) {
    return answered(this.name, () => {
      this.versioned('abort', protocolVersion);
      return this.target.engine.target.abort(jobId, reason);
    });
  }

  postcopy(jobId: string, action: PostcopyAction, protocolVersion: number) {
    return answered(this.name, () => {
      this.versioned('postcopy', protocolVersion);
      return this.target.engine.target.postcopy(jobId, action);
    });
  }

  async job(jobId: string) {
    return answered(this.name, async () => this.target.engine.info(jobId));
  }

  offlinePrepare(req: OfflinePrepareRequest) {
    return answered(this.name, () => {
      this.versioned('offlinePrepare', req.protocolVersion);
      return this.target.engine.target.offline.prepare(req);
    });
  }

  offlineCommit(req: OfflineCommitRequest) {
    return answered(this.name, () => {
      this.versioned('offlineCommit', req.protocolVersion);
      return this.target.engine.target.offline.commit(req);
    });
  }

  offlinePause(jobId: string, reason: string, protocolVersion: number) {
    return answered(this.name, () => {
      this.versioned('offlinePause', protocolVersion);
      return this.target.engine.target.offline.pause(jobId, reason);
    });
  }

  async close(): Promise<void> {}
}
