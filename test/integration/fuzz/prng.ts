// A seeded PRNG (mulberry32) so every fuzz run is a replay of its seed: the seed is printed
// with any failure, and VMHOP_FUZZ_SEED=N runs that same sequence again.
export const DEFAULT_SEED = 0x5eed_0012;

export function seedFromEnv(): number {
  const s = process.env.VMHOP_FUZZ_SEED;
  if (s === undefined || s === '') return DEFAULT_SEED;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`VMHOP_FUZZ_SEED must be an integer, not \`${s}\``);
  return n >>> 0;
}

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** Up to `n` elements of `xs`, in a seeded order (all of them when there are fewer). */
  sample<T>(xs: readonly T[], n: number): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a.slice(0, n);
  }
}
