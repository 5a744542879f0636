// How a command's result and errors reach the user, in `vmhop` and in `vmhop-agent`: with --json
// exactly one JSON document on stdout (the result, or {error: {code, message, details}});
// otherwise human text. Progress and logs always go to stderr so stdout stays parseable.
import { errorCatalogue, isVmhopError } from '../protocol/errors.js';

export interface OutputOptions {
  json?: boolean;
}

export function emit<T>(opts: OutputOptions, result: T, human: (r: T) => string): void {
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    const text = human(result);
    if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** Prints the error the way the user asked for and returns the exit code for its class. */
export function reportError(e: unknown, json: boolean): number {
  if (isVmhopError(e)) {
    if (json) process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
    else process.stderr.write(`error: ${e.message} [${e.code}]\n`);
    return errorCatalogue[e.code].exit;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json) {
    process.stdout.write(
      JSON.stringify({ error: { code: 'VMHOP_ERR_INTERNAL', message, details: {} } }) + '\n',
    );
  } else process.stderr.write(`error: ${message}\n`);
  return 1;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
