// The agent's event stream: VM state changes and job progress, numbered so an SSE client
// that reconnects with Last-Event-ID gets what it missed (from a bounded in-memory ring;
// a client further behind than the ring is told to resync).
import { EventEmitter } from 'node:events';
import type { AgentEvent, AgentEventBody } from '../../protocol/events.js';

export class EventBus {
  private nextId = 1;
  private readonly ring: AgentEvent[] = [];
  private readonly emitter = new EventEmitter();

  constructor(private readonly capacity = 2_000) {
    this.emitter.setMaxListeners(0);
  }

  publish(body: AgentEventBody): AgentEvent {
    const ev = { ...body, id: this.nextId++, at: new Date().toISOString() } as AgentEvent;
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.emitter.emit('event', ev);
    return ev;
  }

  /** Events after `lastId`, or undefined when the ring no longer holds them all. */
  since(lastId: number): AgentEvent[] | undefined {
    const first = this.ring[0];
    if (lastId >= this.nextId - 1) return [];
    if (!first || first.id > lastId + 1) return undefined;
    return this.ring.filter((e) => e.id > lastId);
  }

  subscribe(listener: (e: AgentEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
