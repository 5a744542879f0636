// Publishes a long VM action's progress (save, restore, shutdown) on the agent's event stream
// as `vm.progress`: one event when it starts, one per interval, and a last one (`ended`) when
// it stops, whatever the outcome. The action says how far it is (`sample`); rate and ETA are
// derived here. It never fails the action: a sample that throws is skipped.
import type { VmOperation, VmProgress } from '../../protocol/vm-progress.js';
import type { EventBus } from '../events/bus.js';

export interface ProgressSample {
  done: number;
  total: number;
}

export interface TickerOptions {
  events: EventBus;
  vm: string;
  operation: VmOperation;
  unit: VmProgress['unit'];
  /** The client's id for this action's events (body `progressId`), when it gave one. */
  progressId?: string;
  note: string;
  sample: () => ProgressSample;
  /** Between two events. */
  intervalMs?: number;
}

export class ProgressTicker {
  private readonly startedAt = Date.now();
  private last?: { at: number; done: number };
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: TickerOptions) {}

  start(): this {
    this.publish(false);
    this.timer = setInterval(() => this.publish(false), this.o.intervalMs ?? 1_000);
    this.timer.unref();
    return this;
  }

  /** The last event; call it in a `finally`. */
  stop(): void {
    clearInterval(this.timer);
    this.publish(true);
  }

  private publish(ended: boolean): void {
    let s: ProgressSample;
    try {
      s = this.o.sample();
    } catch {
      return;
    }
    const now = Date.now();
    const data: VmProgress = {
      operation: this.o.operation,
      unit: this.o.unit,
      done: s.done,
      total: s.total,
      ...this.rate(now, s.done),
      etaS: this.eta(now, s),
      note: this.o.note,
      elapsedMs: now - this.startedAt,
      ended,
    };
    this.last = { at: now, done: s.done };
    this.o.events.publish({
      type: 'vm.progress',
      vm: this.o.vm,
      ...(this.o.progressId ? { progressId: this.o.progressId } : {}),
      data,
    });
  }

  private rate(now: number, done: number): { rateBps?: number } {
    if (this.o.unit !== 'bytes' || !this.last || now <= this.last.at) return {};
    return { rateBps: Math.max(0, ((done - this.last.done) * 1000) / (now - this.last.at)) };
  }

  private eta(now: number, s: ProgressSample): number | null {
    const left = Math.max(0, s.total - s.done);
    if (this.o.unit === 'ms') return left / 1000;
    const r = this.rate(now, s.done).rateBps;
    return r ? left / r : null;
  }
}
