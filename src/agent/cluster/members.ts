// The cache of members/ every agent keeps: one range read, then a watch from the revision after
// it. A member whose lease expired is deleted by etcd and so leaves the cache. A malformed value
// is logged as VMHOP_ERR_CLUSTER_RECORD_INVALID naming its key and left out, never thrown from
// the watch. Resynced (range + new watch) when the host is back in touch after being cut off.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { VmhopError } from '../../protocol/errors.js';
import { bounded } from './client.js';
import type { ClusterKeys } from './keys.js';
import { parseMember, type MemberRecord } from './records.js';

export class MemberCache {
  private byName = new Map<string, MemberRecord>();
  private watcher: Watcher | undefined;
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: ClusterKeys,
    private readonly log: Logger,
    private readonly callTimeoutMs: number,
  ) {}

  get(name: string): MemberRecord | undefined {
    return this.byName.get(name);
  }

  all(): MemberRecord[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reads members/ whole and watches it from the next revision (no event falls between). */
  async load(): Promise<void> {
    const res = await bounded(
      this.client.getAll().prefix(this.keys.membersPrefix).exec(),
      this.callTimeoutMs,
    );
    const next = new Map<string, MemberRecord>();
    for (const kv of res.kvs) {
      const m = this.read(kv);
      if (m) next.set(m.name, m);
    }
    this.byName = next;
    const watcher = this.client
      .watch()
      .prefix(this.keys.membersPrefix)
      .startRevision((BigInt(res.header.revision) + 1n).toString())
      .watcher();
    watcher.on('put', (kv) => this.put(kv));
    watcher.on('delete', (kv) => this.delete(kv));
    watcher.on('error', (err) => this.log.warn({ err }, 'etcd watch of members/ failed; it reconnects'));
    this.watcher = watcher;
  }

  /** After a cut-off the watch may be stale (a silent connection): read again, watch again. */
  async resync(): Promise<void> {
    if (this.closed) return;
    await this.stopWatch();
    await this.load();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopWatch();
  }

  private async stopWatch(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await bounded(w.cancel(), this.callTimeoutMs);
  }

  private put(kv: IKeyValue): void {
    const m = this.read(kv);
    const name = this.keys.memberName(kv.key.toString());
    if (m) this.byName.set(m.name, m);
    else if (name !== undefined) this.byName.delete(name);
  }

  private delete(kv: IKeyValue): void {
    const name = this.keys.memberName(kv.key.toString());
    if (name !== undefined) this.byName.delete(name);
  }

  private read(kv: IKeyValue): MemberRecord | undefined {
    const key = kv.key.toString();
    const name = this.keys.memberName(key);
    if (name === undefined) return undefined;
    const m = parseMember(key, name, kv.value);
    if (m instanceof VmhopError) {
      this.log.error({ err: m, code: m.code, key }, m.message);
      return undefined;
    }
    return m;
  }
}
