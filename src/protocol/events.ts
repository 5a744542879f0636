// Server-sent events from an agent: one discriminated union shared by the agent, the CLI
// and the web UI. `id` orders them per agent and lets a client resume (Last-Event-ID).
import type { VmState } from './vm.js';
import type { VmProgress } from './vm-progress.js';

export type AgentEventBody =
  | { type: 'vm.state'; vm: string; state: VmState; reason?: string }
  | { type: 'vm.defined'; vm: string }
  | { type: 'vm.undefined'; vm: string }
  | { type: 'vm.progress'; vm: string; progressId?: string; data: VmProgress }
  | { type: 'job.progress'; job: string; vm: string; data: Record<string, unknown> }
  | { type: 'job.ended'; job: string; vm: string; state: string }
  | { type: 'resync'; reason: string };

export type AgentEvent = AgentEventBody & { id: number; at: string };
