// Finds the signs of a guest kernel in trouble in its serial console text (pure): oops,
// BUG, panic, general protection fault, and the test guest's daemon dying. It does not
// decide which part of the log belongs to a move: callers pass only that part.

/** Lines that mean the guest did not survive, whatever its workloads say afterwards. */
const TROUBLE = [
  /\bOops\b/,
  /\bBUG:/,
  /Kernel panic/,
  /general protection/,
  // /init's line when vmhop-guestd ends: the heartbeat and the service are gone.
  /vmhop-init: vmhop-guestd exited/,
];

const HEARTBEAT = /^tick \d+$/;
/** Enough of a kernel trace to see where it happened, without pages of ticks. */
const MAX_CONTEXT_LINES = 60;

export interface ConsoleScan {
  /** The lines that matched, in order. */
  hits: string[];
  /**
   * The console from a few lines before the first hit on, heartbeat lines left out, at most
   * MAX_CONTEXT_LINES: what a reader needs to see what happened (trace, reboot, ...).
   */
  context: string[];
}

/** Splits on \n and \r\n (kernel lines end in \r\n, the guest daemon's in \n). */
export function consoleLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/\r/g, ''))
    .filter((l) => l.length > 0);
}

export function scanConsole(text: string): ConsoleScan {
  const lines = consoleLines(text);
  const hits: string[] = [];
  let first = -1;
  lines.forEach((line, i) => {
    if (!TROUBLE.some((re) => re.test(line))) return;
    hits.push(line);
    if (first < 0) first = i;
  });
  if (first < 0) return { hits, context: [] };
  const context: string[] = [];
  for (let i = Math.max(0, first - 5); i < lines.length && context.length < MAX_CONTEXT_LINES; i++) {
    const line = lines[i]!;
    if (!HEARTBEAT.test(line)) context.push(line);
  }
  return { hits, context };
}
