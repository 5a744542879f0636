// The benchmark suite's arithmetic and its Markdown table (pure): medians and ranges of each
// peer's runs of a scenario, a run that did not finish or broke its guest counted as such
// (never averaged in as a fast figure), and the issue 14 §4 targets judged on the medians.
// Lives beside the test bed so the unit tests reach it; bench/suite.ts runs the peers.

export type Peer = 'raw' | 'virsh' | 'vmhop';
export const PEERS: readonly Peer[] = ['raw', 'virsh', 'vmhop'];

/** One run's figures (any numeric field is summarised); `finished` and `guestIntact` are counted. */
export interface RunFigures {
  finished?: boolean;
  guestIntact?: boolean | null;
  [field: string]: unknown;
}

export interface RunRecord {
  scenario: string;
  peer: Peer;
  round: number;
  figures?: RunFigures;
  error?: string;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface PeerSummary {
  runs: number;
  finished: number;
  /** Runs whose guest was checked (a finished live move), and of those the intact ones. */
  checked: number;
  intact: number;
  /** Why runs did not finish (their `integrity` text), first one first. */
  unfinished: string[];
  errors: string[];
  stats: Record<string, Stat>;
}

export function stat(xs: readonly number[]): Stat | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  return { median, min: v[0] as number, max: v[v.length - 1] as number, n: v.length };
}

/** Numeric fields are summarised over the runs that finished (a cancelled run's time is its cap). */
export function summarise(runs: readonly RunRecord[]): PeerSummary {
  const ok = runs.filter((r) => r.figures && r.figures.finished !== false);
  const fields = new Set(ok.flatMap((r) => Object.keys(r.figures ?? {})));
  const stats: Record<string, Stat> = {};
  for (const f of fields) {
    const s = stat(ok.map((r) => r.figures?.[f]).filter((x): x is number => typeof x === 'number'));
    if (s) stats[f] = s;
  }
  return {
    runs: runs.length,
    finished: ok.length,
    checked: runs.filter((r) => typeof r.figures?.guestIntact === 'boolean').length,
    intact: runs.filter((r) => r.figures?.guestIntact === true).length,
    unfinished: runs
      .filter((r) => r.figures?.finished === false)
      .map((r) => String(r.figures?.integrity ?? 'did not finish')),
    errors: runs.filter((r) => r.error).map((r) => r.error as string),
    stats,
  };
}

export type Summaries = Record<string, Partial<Record<Peer, PeerSummary>>>;

export function summariseAll(records: readonly RunRecord[]): Summaries {
  const out: Summaries = {};
  for (const r of records) (out[r.scenario] ??= {})[r.peer] = undefined as never;
  for (const scenario of Object.keys(out)) {
    for (const peer of PEERS) {
      const runs = records.filter((r) => r.scenario === scenario && r.peer === peer);
      if (runs.length) out[scenario]![peer] = summarise(runs);
      else delete out[scenario]![peer];
    }
  }
  return out;
}

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);

/** "median (min-max)", or the value when all runs agree. */
export function cell(s: Stat | undefined): string {
  if (!s) return '';
  return s.min === s.max ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;
}

export interface Row {
  label: string;
  field: string;
}

/** A peer's cell for a row, or why it has none (did not run, did not finish, an error). */
function peerCell(p: PeerSummary | undefined, row: Row, notApplicable: string | undefined): string {
  // The header row says why a peer has none; its figure rows stay short.
  if (!p) return notApplicable ? '—' : 'n/a';
  if (p.finished === 0) {
    const why = p.unfinished[0] ?? (p.errors[0] ? `error: ${p.errors[0]}` : 'did not finish');
    return row.field === 'totalS' ? `0/${p.runs}: ${why.slice(0, 120)}` : '';
  }
  return cell(p.stats[row.field]);
}

export function ratioCell(vmhop: Stat | undefined, raw: Stat | undefined): string {
  return vmhop && raw && raw.median !== 0 ? (vmhop.median / raw.median).toFixed(2) : '';
}

/** One Markdown table: a header row per scenario, then its figures; `notApplicable` says why a peer has no row. */
export function markdownTable(
  s: Summaries,
  rows: Record<string, Row[]>,
  notApplicable: Record<string, Partial<Record<Peer, string>>> = {},
): string {
  const out = [
    '| scenario / figure | raw QEMU | virsh migrate | vmhop | vmhop / raw |',
    '|---|---|---|---|---|',
  ];
  for (const [scenario, peers] of Object.entries(s)) {
    const checks = PEERS.map((p) => {
      const x = peers[p];
      if (!x) return notApplicable[scenario]?.[p] ?? 'n/a';
      return (
        `${x.finished}/${x.runs} finished` + (x.checked ? `, guest intact ${x.intact}/${x.checked}` : '')
      );
    });
    out.push(`| **${scenario}** (runs; guest check) | ${checks.join(' | ')} | |`);
    for (const row of rows[scenario] ?? []) {
      const cells = PEERS.map((p) => peerCell(peers[p], row, notApplicable[scenario]?.[p]));
      if (cells.every((c) => c === '' || c === 'n/a' || c === '—')) continue;
      out.push(
        `| ${row.label} | ${cells.join(' | ')} | ${ratioCell(peers.vmhop?.stats[row.field], peers.raw?.stats[row.field])} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}

export interface TargetResult {
  target: string;
  met: boolean | null;
  measured: string;
}

/** "met", or by how much it is missed, for a figure that must be at most `limit`. */
export function atMost(
  target: string,
  value: number | undefined,
  limit: number | undefined,
  unit = '',
): TargetResult {
  if (value === undefined || limit === undefined || !Number.isFinite(value) || !Number.isFinite(limit))
    return { target, met: null, measured: 'not measured' };
  const met = value <= limit;
  const by = limit !== 0 ? ` (${(((value - limit) / limit) * 100).toFixed(0)}% over)` : '';
  return { target, met, measured: `${fmt(value)}${unit} vs ${fmt(limit)}${unit}${met ? '' : by}` };
}
