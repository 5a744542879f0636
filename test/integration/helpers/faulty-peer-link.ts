// A direct peer link with faults at the calls of a migration, for the failure matrix (issue 13):
// a request that never arrives, an answer that is lost after the target acted, a target agent
// frozen (SIGSTOP) whose requests wait and are served when it wakes while the caller gives up,
// and something done (a QEMU killed) just before or after the target serves a call. A dropped,
// lost or frozen call reaches the caller as HttpPeerLink's VMHOP_ERR_PEER_UNREACHABLE: no answer,
// outcome unknown.
import type { AgentServices } from '../../../src/agent/services.js';
import { VmhopError } from '../../../src/protocol/errors.js';
import { DirectPeerLink } from './direct-peer-link.js';

export type Call = 'hostInfo' | 'prepare' | 'finish' | 'abort' | 'postcopy' | 'job';
const CALLS: Call[] = ['hostInfo', 'prepare', 'finish', 'abort', 'postcopy', 'job'];

export type Fault =
  | { kind: 'drop' }
  | { kind: 'lose-reply' }
  /** Served once `until` resolves; the caller gets no answer after `answerAfterMs`. */
  | { kind: 'freeze'; until: Promise<void>; answerAfterMs: number }
  /** `run`, then the call goes through the rules again (which `run` may have changed). */
  | { kind: 'before'; run: () => Promise<void> }
  | { kind: 'after'; run: () => Promise<void> };

export interface Rule {
  call: Call;
  fault: Fault;
  /** How many calls the rule applies to; every call when absent. */
  times?: number;
}

const noAnswer = (peer: string, call: string, why: string) =>
  new VmhopError('VMHOP_ERR_PEER_UNREACHABLE', `peer agent \`${peer}\` did not answer ${call}: ${why}`, {
    peer,
    outcomeKnown: false,
  });

/** Wraps `inner` (what serves the calls) with the rules; `log` lists every call and its fault. */
export class FaultyPeerLink extends DirectPeerLink {
  rules: Rule[] = [];
  readonly log: string[] = [];
  /** The agent that owned this link stopped: nothing it would still send arrives. */
  private severed = false;

  constructor(name: string, target: AgentServices) {
    super(name, target);
    const self = this as unknown as Record<Call, (...a: unknown[]) => Promise<unknown>>;
    for (const call of CALLS) {
      const real = self[call].bind(this);
      self[call] = (...args: unknown[]) => this.through(call, () => real(...args));
    }
  }

  override async close(): Promise<void> {
    this.severed = true;
  }

  /** Takes every rule away: the links are whole again. */
  heal(): void {
    this.rules = [];
  }

  private async through(call: Call, real: () => Promise<unknown>): Promise<unknown> {
    if (this.severed) throw noAnswer(this.name, call, 'the calling agent is gone');
    const rule = this.rules.find((r) => r.call === call && (r.times === undefined || r.times > 0));
    if (rule?.times !== undefined) rule.times--;
    this.log.push(`${call}${rule ? ` (${rule.fault.kind})` : ''}`);
    if (!rule) return real();
    const f = rule.fault;
    switch (f.kind) {
      case 'drop':
        throw noAnswer(this.name, call, 'connect ETIMEDOUT (request lost)');
      case 'lose-reply':
        await real().catch(() => undefined);
        throw noAnswer(this.name, call, 'socket hang up (answer lost)');
      case 'freeze': {
        // The request waits in the frozen agent's socket and is served when it wakes.
        const served = f.until.then(real);
        served.catch(() => undefined);
        await new Promise((r) => setTimeout(r, f.answerAfterMs));
        throw noAnswer(this.name, call, `headers timeout after ${f.answerAfterMs} ms (agent frozen)`);
      }
      case 'before':
        // Then through the rules again: `run` may have set new ones for this very call.
        await f.run();
        return this.through(call, real);
      case 'after': {
        const out = await real();
        await f.run();
        return out;
      }
    }
  }
}
