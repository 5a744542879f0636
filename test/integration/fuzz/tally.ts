// Counts of what the fuzzer sent and got, per category, and the failures it saw: printed as a
// table at the end of a run and written to .cache/fuzz-report.json for the session notes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Sent {
  method: string;
  url: string;
  /** JSON text, or bytes that are not UTF-8. */
  body?: string | Buffer | undefined;
  headers?: Record<string, string>;
}

export interface Failure {
  category: string;
  why: string;
  request: Sent;
  status: number;
  response: string;
}

interface Row {
  requests: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  other: number;
}

const preview = (b: string | Buffer | undefined, n = 300) => {
  const s = Buffer.isBuffer(b) ? `(bytes) ${b.toString('latin1')}` : b;
  return s === undefined ? '' : s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s;
};

export class Tally {
  readonly rows: Record<string, Row> = {};
  readonly failures: Failure[] = [];
  /** Failures that match a known bug left to its owner (named in KNOWN_FAILURES). */
  readonly known: (Failure & { known: string })[] = [];
  readonly started = Date.now();

  constructor(readonly seed: number) {}

  /** What was accepted (2xx), by category and request line: to read, not to assert. */
  readonly accepted: Record<string, number> = {};

  count(category: string, status: number, line?: string): void {
    if (line && status >= 200 && status < 300) {
      const k = `${category} ${line.split('?')[0]?.slice(0, 100)}`;
      this.accepted[k] = (this.accepted[k] ?? 0) + 1;
    }
    const r = (this.rows[category] ??= { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, other: 0 });
    r.requests++;
    if (status >= 200 && status < 300) r['2xx']++;
    else if (status >= 400 && status < 500) r['4xx']++;
    else if (status >= 500) r['5xx']++;
    else r.other++;
  }

  get total(): number {
    return Object.values(this.rows).reduce((n, r) => n + r.requests, 0);
  }

  fail(f: Failure, knownAs?: string): void {
    if (knownAs) this.known.push({ ...f, known: knownAs });
    else this.failures.push(f);
  }

  /** Every failure, readable: method, URL, body preview, status and response; with the seed to replay. */
  describeFailures(): string {
    return this.failures
      .slice(0, 40)
      .map(
        (f) =>
          `[${f.category}] ${f.why}\n  ${f.request.method} ${preview(f.request.url, 200)}\n  body: ${preview(f.request.body)}\n  -> ${f.status} ${preview(f.response)}`,
      )
      .concat(this.failures.length > 40 ? [`... and ${this.failures.length - 40} more`] : [])
      .concat([`replay with VMHOP_FUZZ_SEED=${this.seed}`])
      .join('\n');
  }

  /** Prints the table and writes the report; `name` keeps the API's and the UI server's apart. */
  report(name: string, extra: Record<string, unknown>): Record<string, unknown> {
    const totals = Object.values(this.rows).reduce(
      (t, r) => ({
        requests: t.requests + r.requests,
        '2xx': t['2xx'] + r['2xx'],
        '4xx': t['4xx'] + r['4xx'],
        '5xx': t['5xx'] + r['5xx'],
        other: t.other + r.other,
      }),
      { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, other: 0 },
    );
    const doc = {
      name,
      seed: this.seed,
      durationMs: Date.now() - this.started,
      categories: this.rows,
      totals,
      failures: this.failures.length,
      accepted: this.accepted,
      failureList: this.failures.slice(0, 500).map((k) => ({
        why: k.why,
        category: k.category,
        request: `${k.request.method} ${preview(k.request.url, 200)}`,
        body: preview(k.request.body, 400),
        status: k.status,
        response: preview(k.response, 400),
      })),
      knownFailures: this.known.map((k) => ({
        known: k.known,
        category: k.category,
        request: `${k.request.method} ${preview(k.request.url, 200)}`,
        body: preview(k.request.body, 200),
        status: k.status,
        response: preview(k.response, 300),
      })),
      ...extra,
    };
    console.log(`fuzz ${name} (seed ${this.seed}, ${doc.durationMs} ms)`);
    console.table({ ...this.rows, total: totals });
    const dir = resolve(import.meta.dirname, '../../../.cache');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `fuzz-report${name === 'api' ? '' : `-${name}`}.json`),
      JSON.stringify(doc, null, 2),
    );
    return doc;
  }
}
