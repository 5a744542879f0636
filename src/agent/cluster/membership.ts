// This host's presence in etcd: a lease, its keep-alives and members/<self> put under it.
// It owns the "in touch" clock of docs/fleet-etcd.md: the host counts itself cut off once its
// last answered keep-alive is older than TTL - 3 s, on its own clock, so it stops accepting
// work before etcd can have expired the lease. A lost lease is replaced by a new one.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from 'pino';
import { bounded, type ClusterEtcdConfig } from './client.js';
import type { ClusterKeys } from './keys.js';
import type { MemberRecord } from './records.js';

/** Margin between "cut off" on this host's clock and the lease's expiry in etcd. */
export const TOUCH_MARGIN_MS = 3_000;

export interface MembershipDeps {
  client: Etcd3;
  keys: ClusterKeys;
  cfg: ClusterEtcdConfig;
  log: Logger;
  callTimeoutMs: number;
  /** Called when etcd answers again after the host was cut off (the member cache resyncs). */
  onBackInTouch: () => void;
}

export class Membership {
  private lease: Lease | undefined;
  private lastAnswerAt = 0;
  private cutOffLogged = false;
  private touchTimer: NodeJS.Timeout | undefined;
  private reRegistering: Promise<void> | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly d: MembershipDeps,
    private self: MemberRecord,
  ) {}

  get touchWindowMs(): number {
    return this.d.cfg.leaseTtlSeconds * 1000 - TOUCH_MARGIN_MS;
  }

  inTouch(): boolean {
    return this.lastAnswerAt > 0 && Date.now() - this.lastAnswerAt < this.touchWindowMs;
  }

  /** Milliseconds since etcd last answered a grant or keep-alive. */
  silentForMs(): number {
    return Date.now() - this.lastAnswerAt;
  }

  record(): MemberRecord {
    return this.self;
  }

  /** Grants a lease and puts members/<self> under it, within `ms`; the old lease (if any) is left to expire. */
  async register(ms: number): Promise<void> {
    const lease = this.d.client.lease(this.d.cfg.leaseTtlSeconds);
    lease.on('keepaliveSucceeded', () => this.answered());
    lease.on('lost', (err: Error) => {
      if (lease === this.lease && !this.closing.signal.aborted) this.reRegister(err.message);
    });
    // etcd3 types the argument as a response; it is the error.
    lease.on('keepaliveFailed', (err) => this.d.log.debug({ err }, 'etcd keep-alive failed'));
    try {
      const started = Date.now();
      await bounded(lease.grant(), ms);
      this.answered();
      const left = Math.max(1, ms - (Date.now() - started));
      await bounded(lease.put(this.d.keys.member(this.self.name)).value(JSON.stringify(this.self)), left);
    } catch (e) {
      // Its grant may still be answered later: closed, it sends no keep-alive and expires alone.
      lease.release();
      throw e;
    }
    this.lease?.release();
    this.lease = lease;
  }

  /** Puts the changed record under the current lease; a later re-registration carries it too. */
  async update(patch: Partial<MemberRecord>): Promise<void> {
    this.self = { ...this.self, ...patch, name: this.self.name };
    if (!this.lease) throw new Error('not registered: the lease is being granted again');
    await bounded(
      this.lease.put(this.d.keys.member(this.self.name)).value(JSON.stringify(this.self)),
      this.d.callTimeoutMs,
    );
  }

  /** The current lease's ID: what this host puts under it (slots) goes when the host does. */
  leaseId(): Promise<string> {
    if (!this.lease) return Promise.reject(new Error('not registered: the lease is being granted again'));
    return this.lease.grant();
  }

  async close(): Promise<void> {
    this.closing.abort();
    clearTimeout(this.touchTimer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await bounded(lease.revoke(), this.d.callTimeoutMs);
  }

  private answered(): void {
    this.lastAnswerAt = Date.now();
    if (this.cutOffLogged) {
      this.cutOffLogged = false;
      this.d.log.info({ host: this.self.name }, 'etcd answers again: back in touch with the cluster');
      this.d.onBackInTouch();
    }
    clearTimeout(this.touchTimer);
    this.touchTimer = setTimeout(() => this.noteCutOff(), this.touchWindowMs + 10).unref();
  }

  private noteCutOff(): void {
    if (this.inTouch() || this.closing.signal.aborted) return;
    this.cutOffLogged = true;
    this.d.log.warn(
      { host: this.self.name, silentForMs: this.silentForMs(), endpoints: this.d.cfg.endpoints },
      'cut off from etcd: running VMs keep running, nothing new is accepted until etcd answers',
    );
  }

  /** A new lease and member key, retried with back-off until etcd answers or close(). */
  private reRegister(why: string): void {
    if (this.reRegistering) return;
    this.d.log.warn(
      { host: this.self.name, why },
      'etcd lease lost: granting a new one and registering again',
    );
    this.reRegistering = this.registerUntilAnswered().finally(() => (this.reRegistering = undefined));
  }

  private async registerUntilAnswered(): Promise<void> {
    const signal = this.closing.signal;
    for (let delayMs = 200; !signal.aborted; delayMs = Math.min(delayMs * 2, 2_000)) {
      try {
        await this.register(this.d.callTimeoutMs);
        this.d.log.info({ host: this.self.name }, 'registered again in etcd under a new lease');
        return;
      } catch (err) {
        this.d.log.debug({ err }, 'etcd lease grant failed; retrying');
      }
      // Not ref'd: a closing agent is not held up by the back-off; the loop ends on its next check.
      await sleep(delayMs, undefined, { ref: false });
    }
  }
}
