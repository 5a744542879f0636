// Fans QMP events out to every current subscriber (event streams and event waits) and tells them
// when the session ends. A subscriber that arrives after the end is told at once, so nobody waits
// on a dead session.

import type { QmpError } from './errors.js';
import type { QmpAnyEvent } from './events.js';
import type { EventSink } from './event-stream.js';

export class EventHub {
  private readonly sinks = new Set<EventSink>();
  private ended = false;
  private endReason: QmpError | undefined;

  readonly subscribe = (sink: EventSink): (() => void) => {
    if (this.ended) {
      sink.end(this.endReason);
      return () => {};
    }
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  };

  publish(event: QmpAnyEvent): void {
    for (const sink of [...this.sinks]) sink.deliver(event);
  }

  end(reason: QmpError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    const sinks = [...this.sinks];
    this.sinks.clear();
    for (const sink of sinks) sink.end(reason);
  }
}
