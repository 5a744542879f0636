// Link shaping for the migration link, as `tc` argv lists (pure, so they get golden tests).
// A rate becomes a tbf root qdisc (the 100 Mbit/s Ethernet of the reference article);
// delay and loss become netem, under the tbf when both are asked for.
import { VmhopError } from '../protocol/errors.js';

export interface Shaping {
  rate?: string; // tc rate, e.g. "100mbit"
  delay?: string; // one-way, per direction, e.g. "20ms"
  loss?: string; // e.g. "1%"
}

const RATE = /^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/;
const DELAY = /^\d+(\.\d+)?(us|ms|s)$/;
const LOSS = /^\d+(\.\d+)?%$/;

export function validateShaping(s: Shaping): Shaping {
  const check = (what: string, value: string | undefined, re: RegExp, example: string) => {
    if (value !== undefined && !re.test(value)) {
      throw new VmhopError('VMHOP_ERR_USAGE', `--${what} ${value} is not valid; expected e.g. ${example}`, {
        [what]: value,
      });
    }
  };
  check('rate', s.rate, RATE, '100mbit, 1gbit or 500kbit');
  check('delay', s.delay, DELAY, '20ms');
  check('loss', s.loss, LOSS, '1%');
  return s;
}

export function isShaped(s: Shaping): boolean {
  return s.rate !== undefined || s.delay !== undefined || s.loss !== undefined;
}

/** Bytes a tbf bucket holds: at least one 10 ms burst at the rate, never under 32 KiB. */
export function tbfBurstBytes(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/.exec(rate);
  if (!m) throw new RangeError(`bad rate ${rate}`);
  const mult = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2] as 'bit' | 'kbit' | 'mbit' | 'gbit'];
  const bitsPerSecond = Number(m[1]) * mult;
  return Math.max(32 * 1024, Math.ceil(bitsPerSecond / 8 / 100));
}

/** The `tc` invocations that make `dev` shaped as asked; the first always clears old shaping. */
export function shapingCommands(dev: string, s: Shaping): string[][] {
  const cmds: string[][] = [['qdisc', 'del', 'dev', dev, 'root']];
  const netem = [...(s.delay ? ['delay', s.delay] : []), ...(s.loss ? ['loss', s.loss] : [])];
  if (s.rate) {
    const burst = String(tbfBurstBytes(s.rate));
    cmds.push([
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      s.rate,
      'burst',
      burst,
      'latency',
      '400ms',
    ]);
    if (netem.length)
      cmds.push([
        'qdisc',
        'add',
        'dev',
        dev,
        'parent',
        '1:1',
        'handle',
        '10:',
        'netem',
        'limit',
        '100000',
        ...netem,
      ]);
  } else if (netem.length) {
    cmds.push(['qdisc', 'add', 'dev', dev, 'root', 'handle', '10:', 'netem', 'limit', '100000', ...netem]);
  }
  return cmds;
}
