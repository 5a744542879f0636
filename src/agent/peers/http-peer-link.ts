// The agent-to-agent client: HTTPS with this agent's certificate as the client
// certificate (mutual TLS from the cluster CA) and the peer's certificate verified.
// A refused request is a known outcome (VmhopError with the peer's code) unless the peer's
// error says outcomeKnown: false; a request that never got an answer is
// VMHOP_ERR_PEER_UNREACHABLE with details.outcomeKnown = false.
// undici is loaded at the first call, not when the agent starts: an idle agent never calls a
// peer, and undici is about 10 MiB of its heap.
import { readFileSync } from 'node:fs';
import type { Agent } from 'undici';
import { VmhopError, knownErrorCode, readErrorBody } from '../../protocol/errors.js';
import type { JobInfo } from '../../protocol/migration.js';
import type { LinkProbeReply, LinkProbeRequest } from '../../protocol/prediction.js';
import type { VolumeInfo } from '../../protocol/storage.js';
import {
  FinishReply,
  type PeerHostInfo,
  type PeerLink,
  type PostcopyAction,
  type PostcopyReply,
  type PrepareReply,
  type PrepareRequest,
} from './peer-link.js';
import type { OfflineCommitRequest, OfflinePrepareReply, OfflinePrepareRequest } from './offline-messages.js';

export interface PeerTls {
  cert: string;
  key: string;
  ca: string;
}

export class HttpPeerLink implements PeerLink {
  /** Read now, so that missing TLS material still fails at start-up, not at the first call. */
  private readonly connect: { ca: Buffer; cert: Buffer; key: Buffer };
  private dispatcher: Promise<Agent> | undefined;

  constructor(
    readonly name: string,
    private readonly url: string,
    tls: PeerTls,
    private readonly timeoutMs = 30_000,
  ) {
    this.connect = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  }

  private agent(): Promise<Agent> {
    this.dispatcher ??= import('undici').then(
      ({ Agent }) => new Agent({ connect: this.connect, connectTimeout: 5_000 }),
    );
    return this.dispatcher;
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const { request } = await import('undici');
    const dispatcher = await this.agent();
    const version = (body as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    let res;
    try {
      res = await request(new URL(path, this.url), {
        method,
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: {
          // The message's version, also where a proxy or a log sees only headers.
          ...(version === undefined ? {} : { 'x-vmhop-protocol': String(version) }),
          ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
        },
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new VmhopError(
        'VMHOP_ERR_PEER_UNREACHABLE',
        `peer agent \`${this.name}\` at ${this.url} did not answer ${method} ${path}: ${err.code ?? err.message}`,
        { peer: this.name, url: this.url, outcomeKnown: false, cause: err.code },
      );
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      const body = readErrorBody(text);
      const auth =
        body.code === 'VMHOP_ERR_AUTH_MISSING' ||
        body.code === 'VMHOP_ERR_AUTH_INVALID' ||
        body.code === 'VMHOP_ERR_PEER_ONLY';
      throw new VmhopError(
        auth ? 'VMHOP_ERR_PEER_AUTH' : knownErrorCode(body.code),
        `peer \`${this.name}\`: ${body.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`}`,
        // An answer is a known outcome, unless the peer itself says it does not know yet (a
        // commit sent to etcd without an answer): then the caller must ask again, not guess.
        {
          ...body.details,
          peer: this.name,
          peerCode: body.code,
          outcomeKnown: body.details?.outcomeKnown !== false,
        },
      );
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  hostInfo() {
    return this.call<PeerHostInfo>('GET', '/v1/peer/host');
  }

  linkProbe(req: LinkProbeRequest) {
    return this.call<LinkProbeReply>('POST', '/v1/peer/link-probe', req);
  }

  checkProbe(pool: string, nonce: string, protocolVersion: number) {
    return this.call<{ seen: boolean; markerId?: string }>('POST', '/v1/peer/probe', {
      protocolVersion,
      pool,
      nonce,
    });
  }

  async volumeInfo(pool: string, name: string) {
    const r = await this.call<{ volume: VolumeInfo | null }>(
      'GET',
      `/v1/peer/pools/${encodeURIComponent(pool)}/volumes/${encodeURIComponent(name)}`,
    );
    return r.volume ?? undefined;
  }

  prepare(req: PrepareRequest) {
    return this.call<PrepareReply>('POST', '/v1/peer/migrations', req, 120_000);
  }

  async finish(jobId: string, protocolVersion: number): Promise<FinishReply> {
    const body = await this.call('POST', `/v1/peer/migrations/${jobId}/finish`, { protocolVersion });
    // Figures only: an answer without them (or with nonsense) still says "committed".
    const timing = FinishReply.safeParse(body);
    return timing.success ? timing.data : {};
  }

  async abort(jobId: string, reason: string, protocolVersion: number) {
    await this.call('POST', `/v1/peer/migrations/${jobId}/abort`, { protocolVersion, reason });
  }

  postcopy(jobId: string, action: PostcopyAction, protocolVersion: number) {
    return this.call<PostcopyReply>('POST', `/v1/peer/migrations/${jobId}/postcopy`, {
      protocolVersion,
      action,
    });
  }

  job(jobId: string) {
    return this.call<JobInfo>('GET', `/v1/peer/migrations/${jobId}`);
  }

  offlinePrepare(req: OfflinePrepareRequest) {
    return this.call<OfflinePrepareReply>('POST', '/v1/peer/offline', req, 300_000);
  }

  async offlineCommit(req: OfflineCommitRequest) {
    // Commit re-reads every copied chunk and may restore a saved VM: minutes, not seconds.
    await this.call('POST', `/v1/peer/offline/${req.jobId}/commit`, req, 900_000);
  }

  async offlinePause(jobId: string, reason: string, protocolVersion: number) {
    await this.call('POST', `/v1/peer/offline/${jobId}/pause`, { protocolVersion, reason });
  }

  async close() {
    // Never called: nothing to close, and no reason to load undici for it.
    if (this.dispatcher) await (await this.dispatcher).close();
  }
}
