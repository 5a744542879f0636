// A drain's fleet-wide budgets in cluster mode (docs/fleet-etcd.md, "The drain's queue and
// budgets in etcd"): before a move starts it takes one slot of its target's `maxPerHost` and one
// of each link's `maxPerLink` (cluster/slots.ts); a move that gets none stays queued and is asked
// again, as is one of a host cut off from etcd. Slots go back when the move ends. Also publishes
// the drain's report under drains/<host>. Without cluster mode every move goes at once.
import type { Logger } from 'pino';
import type { DrainLimits, DrainVm } from '../../protocol/drain.js';
import type { SlotPool, TakeResult, TakenSlots } from '../cluster/etcd-cluster.js';
import { pollUntil } from '../poll-until.js';
import type { ClusterMode } from './cluster-mode.js';

/** How often a move that waits for a slot asks again (the runner's loop wakes this often). */
export const SLOT_POLL_MS = 1_000;
/** How long a release that etcd did not answer is retried; a lease that expires frees them anyway. */
const RELEASE_RETRY_MS = 120_000;

type Limits = Pick<DrainLimits, 'maxPerHost' | 'maxPerLink'>;

export interface DrainSlotsDeps {
  /** Undefined in embedded mode: no slots, no report in etcd. */
  cluster: ClusterMode | undefined;
  host: string;
  journal: (drain: string, entry: string) => void;
  log: Logger;
}

export class DrainSlots {
  private readonly held = new Map<string, TakenSlots>();
  /** Moves that wait, and why, so the journal says it once per wait, not every second. */
  private readonly waiting = new Map<string, string>();
  private publishing: Promise<void> | undefined;
  private publishAgain: (() => unknown) | undefined;

  constructor(private readonly d: DrainSlotsDeps) {}

  /** True: the move may start now (its slots are held, or embedded mode); false: it waits. */
  async take(drain: string, v: DrainVm, limits: Limits): Promise<boolean> {
    const key = `${drain}/${v.vm}`;
    const why = await this.tryTake(drain, v, limits);
    if (why === true) {
      if (this.waiting.delete(key)) this.d.journal(drain, `${v.vm}: slots taken after waiting`);
      return true;
    }
    if (!this.waiting.has(key)) this.d.journal(drain, `${v.vm}: waits for a slot: ${why}`);
    else this.d.log.debug({ drain, vm: v.vm, why }, 'drain move still waits for a slot');
    this.waiting.set(key, why);
    return false;
  }

  /**
   * A move a previous agent process left running (its slots went with that process's lease):
   * takes them again if free; it runs on either way, and the journal says when it holds none.
   */
  async adopt(drain: string, v: DrainVm, limits: Limits): Promise<void> {
    const why = await this.tryTake(drain, v, limits);
    if (why !== true) this.d.journal(drain, `${v.vm}: runs on without fleet-wide slots: ${why}`);
  }

  private async tryTake(drain: string, v: DrainVm, limits: Limits): Promise<true | string> {
    const cluster = this.d.cluster;
    if (!cluster) return true;
    try {
      const c = cluster.assertInTouch(`start the move of VM \`${v.vm}\` to \`${v.to}\``);
      const r = await c.takeSlots(poolsOf(this.d.host, v.to, limits), {
        host: this.d.host,
        drain,
        vm: v.vm,
        at: new Date().toISOString(),
      });
      if (!r.ok) return busy(r);
      this.held.set(`${drain}/${v.vm}`, r.slots);
      return true;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /**
   * The move ended: its slots go back. Resolves after the first attempt (bounded by the etcd
   * call's 3 s), so the drain's next move finds them free; a failed one is retried in the
   * background while etcd does not answer. Never rejects.
   */
  async release(drain: string, vm: string): Promise<void> {
    const key = `${drain}/${vm}`;
    this.waiting.delete(key);
    const slots = this.held.get(key);
    if (!slots) return;
    this.held.delete(key);
    const attempt = async () => {
      const c = this.d.cluster?.client();
      if (!c) return true; // closed: the lease went, and the slots with it
      try {
        await c.releaseSlots(slots);
        return true;
      } catch (err) {
        this.d.log.warn({ err, drain, vm, keys: slots.keys }, 'drain slot release failed; retrying');
        return undefined;
      }
    };
    if (await attempt()) return;
    void pollUntil(attempt, { intervalMs: SLOT_POLL_MS, deadlineMs: RELEASE_RETRY_MS });
  }

  /** Puts the drain's report under drains/<host>: best effort, the newest document wins. */
  publish(doc: () => unknown): void {
    const c = this.d.cluster?.client();
    if (!c) return;
    if (this.publishing) {
      this.publishAgain = doc;
      return;
    }
    this.publishing = (async () => {
      for (let next: (() => unknown) | undefined = doc; next;) {
        this.publishAgain = undefined;
        try {
          await c.putDrain(this.d.host, next());
        } catch (err) {
          // Never fails the drain: its state is in SQLite, etcd shows a copy.
          this.d.log.warn({ err }, 'writing the drain report to etcd failed');
        }
        next = this.publishAgain;
      }
    })().finally(() => (this.publishing = undefined));
  }

  /** Resolves once the last report write has been answered (tests, shutdown). */
  async published(): Promise<void> {
    await this.publishing;
  }
}

/** A move from `from` to `to`: the target's host slots, and the link slots of both ends. */
export function poolsOf(
  from: string,
  to: string,
  limits: Pick<DrainLimits, 'maxPerHost' | 'maxPerLink'>,
): SlotPool[] {
  return [
    { kind: 'host', host: to, max: limits.maxPerHost },
    { kind: 'link', host: from, max: limits.maxPerLink },
    { kind: 'link', host: to, max: limits.maxPerLink },
  ];
}

function busy(r: Extract<TakeResult, { ok: false }>): string {
  const whose = r.holders.map((h) => (h ? `${h.vm} of the drain of \`${h.host}\`` : 'an unnamed holder'));
  const what =
    r.pool.kind === 'host'
      ? `moves into host \`${r.pool.host}\``
      : `moves over the link of \`${r.pool.host}\``;
  return `all ${r.pool.max} slots for ${what} are taken (${whose.join(', ') || 'just now, by another taker'})`;
}
