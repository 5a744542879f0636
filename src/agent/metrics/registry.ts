// The agent's Prometheus registry: one per app (tests run several agents in one process, and
// prom-client's global registry would mix them), with the job counters fed from the bus and
// the gauges read at scrape time. Served by routes/metrics.ts behind the usual authentication.
// Made at the first scrape or job end, not at start-up: prom-client (and the OpenTelemetry API
// it loads) is ~85 modules an agent nobody scrapes and no job has ended on does not need.
import type { Registry } from 'prom-client';
import type { AgentEvent } from '../../protocol/events.js';
import type { AgentServices } from '../services.js';

export interface AgentMetrics {
  /** The registry, made at the first call. */
  registry(): Promise<Registry>;
  /** Stops counting job ends (the app closes). */
  close(): void;
}

type Listener = (e: AgentEvent) => void;

export function agentMetrics(s: AgentServices): AgentMetrics {
  // Job ends that came while prom-client loads, handed to the counters once they subscribe.
  const held: AgentEvent[] = [];
  let counters: Listener | undefined;
  const relay = {
    subscribe(listener: Listener) {
      counters = listener;
      for (const e of held.splice(0)) listener(e);
      return () => void (counters = undefined);
    },
  };
  let made: Promise<Registry> | undefined;
  const registry = () => (made ??= makeRegistry(s, relay));
  const unsubscribe = s.events.subscribe((e) => {
    if (e.type !== 'job.ended') return;
    if (counters) return counters(e);
    held.push(e);
    registry().catch((err: unknown) => s.log.error({ err }, 'metrics: the registry could not be made'));
  });
  return { registry, close: unsubscribe };
}

async function makeRegistry(s: AgentServices, events: { subscribe(l: Listener): () => void }) {
  const [{ Registry }, { jobMetrics }, { stateGauges }] = await Promise.all([
    import('prom-client'),
    import('./job-metrics.js'),
    import('./state-gauges.js'),
  ]);
  const register = new Registry();
  register.setDefaultLabels({ host: s.config.name });
  jobMetrics(register, { events, jobs: s.jobStore });
  stateGauges(register, s);
  return register;
}
