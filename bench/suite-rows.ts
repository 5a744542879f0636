// What the suite's table shows for each scenario, why a peer has no row where it cannot do a
// scenario, and the issue 14 §4 targets judged on the medians of the same run.
import {
  atMost,
  type Peer,
  type Row,
  type Summaries,
  type TargetResult,
} from '../src/testbed/bench-summary.js';

const LIVE_ROWS: Row[] = [
  { label: 'total, s (command to completion)', field: 'totalS' },
  { label: 'total / lower bound', field: 'ratioToBound' },
  { label: 'real pause (QEMU STOP→RESUME events), ms', field: 'realPauseMs' },
  { label: 'pause the tool reports, ms', field: 'downtimeMs' },
  { label: 'longest client gap, ms', field: 'clientGapMs' },
  { label: 'bytes the tool reports sent, MiB', field: 'sentMiB' },
  { label: "bytes on the migration link (source's mig0 tx counter), MiB", field: 'wireMiB' },
];
const OFFLINE_ROWS: Row[] = [
  { label: 'total, s (raw column: a raw TCP stream of the same bytes, fsynced)', field: 'totalS' },
  { label: "vmhop's job time, s", field: 'jobS' },
  { label: 'bytes on the wire, MiB', field: 'sentMiB' },
];
const AGENT_ROWS: Row[] = [
  { label: 'idle RSS, MiB', field: 'idleRssMiB' },
  { label: 'idle anonymous, MiB', field: 'idleAnonMiB' },
  { label: 'RSS with 50 VMs (after 300 lists), MiB', field: 'rssWith50VmsAfter300ListsMiB' },
  { label: '`list` p50, ms', field: 'listP50Ms' },
  { label: '`list` p95, ms', field: 'listP95Ms' },
];

export const ROWS: Record<string, Row[]> = {
  idle: LIVE_ROWS,
  'dirty-below': LIVE_ROWS,
  'dirty-above': LIVE_ROWS,
  'storage-copy': LIVE_ROWS,
  'offline-shaped': OFFLINE_ROWS,
  'offline-unshaped': OFFLINE_ROWS,
  agent: AGENT_ROWS,
};

const NO_OFFLINE = 'no offline copy (`virsh migrate --offline` moves only the definition)';
export const NOT_APPLICABLE: Record<string, Partial<Record<Peer, string>>> = {
  'storage-copy': { raw: 'cannot: QEMU 10 has no `migrate -b` (the article used it on QEMU ≤ 9.0)' },
  'offline-shaped': { virsh: NO_OFFLINE },
  'offline-unshaped': { virsh: NO_OFFLINE },
  agent: { raw: 'no agent', virsh: 'not measured' },
};

const med = (s: Summaries, scenario: string, peer: Peer, field: string) =>
  s[scenario]?.[peer]?.stats[field]?.median;

export function judgeTargets(s: Summaries): TargetResult[] {
  const rawIdlePause = med(s, 'idle', 'raw', 'realPauseMs');
  const vmhopIdlePause = med(s, 'idle', 'vmhop', 'realPauseMs');
  const offline = (scenario: string) => {
    const raw = med(s, scenario, 'raw', 'totalS');
    return atMost(
      `${scenario}: vmhop at least 0.95x a raw stream's throughput (time <= raw / 0.95), s`,
      med(s, scenario, 'vmhop', 'totalS'),
      raw === undefined ? undefined : raw / 0.95,
    );
  };
  return [
    atMost('idle: total / lower bound <= 1.05', med(s, 'idle', 'vmhop', 'ratioToBound'), 1.05),
    atMost(
      "idle: total <= raw QEMU's total, s",
      med(s, 'idle', 'vmhop', 'totalS'),
      med(s, 'idle', 'raw', 'totalS'),
    ),
    atMost(
      "idle: real pause <= 0.8x raw QEMU's, ms",
      vmhopIdlePause,
      rawIdlePause === undefined ? undefined : 0.8 * rawIdlePause,
    ),
    atMost(
      'idle: client gap <= real pause + 150 ms',
      med(s, 'idle', 'vmhop', 'clientGapMs'),
      vmhopIdlePause === undefined ? undefined : vmhopIdlePause + 150,
    ),
    atMost(
      'storage copy (1 GiB, 100 MiB used): total / lower bound <= 1.1',
      med(s, 'storage-copy', 'vmhop', 'ratioToBound'),
      1.1,
    ),
    offline('offline-shaped'),
    offline('offline-unshaped'),
    atMost('agent idle RSS <= 60 MiB', med(s, 'agent', 'vmhop', 'idleRssMiB'), 60),
    atMost('agent RSS with 50 VMs <= 80 MiB', med(s, 'agent', 'vmhop', 'rssWith50VmsAfter300ListsMiB'), 80),
    atMost('agent `list` p95 <= 10 ms', med(s, 'agent', 'vmhop', 'listP95Ms'), 10),
  ];
}
