// The agent's Prometheus registry: one per app (tests run several agents in one process, and
// prom-client's global registry would mix them), with the job counters fed from the bus and
// the gauges read at scrape time. Served by routes/metrics.ts behind the usual authentication.
import { Registry } from 'prom-client';
import type { AgentServices } from '../services.js';
import { jobMetrics } from './job-metrics.js';
import { stateGauges } from './state-gauges.js';

export interface AgentMetrics {
  register: Registry;
  /** Stops counting job ends (the app closes). */
  close(): void;
}

export function agentMetrics(s: AgentServices): AgentMetrics {
  const register = new Registry();
  register.setDefaultLabels({ host: s.config.name });
  const unsubscribe = jobMetrics(register, { events: s.events, jobs: s.jobStore });
  stateGauges(register, s);
  return { register, close: unsubscribe };
}
