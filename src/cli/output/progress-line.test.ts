import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../protocol/migration.js';
import { renderDisks, renderProgress } from './progress-line.js';

// Inputs: the progress golden files of recorded QEMU 7.2 migrations, and a hand-written disk mirror.
const dir = join(import.meta.dirname, '../../../test/fixtures/migration-progress');
const inputs = readdirSync(dir)
  .filter((f) => f.endsWith('.expected.json') || f.endsWith('.progress.json'))
  .map((f) => ({ name: f.replace(/\.(expected|progress)\.json$/, ''), file: f }));
const widths = [80, 132, 50];

const load = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Progress[];

/** Each progress at each width, then its disk lines; a blank line between samples. */
function render(progress: Progress[]): string {
  return progress
    .map((p) =>
      [...widths.map((w) => renderProgress(p, w)), ...(p.disks.length ? [renderDisks(p)] : [])].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}

describe('progress line golden files', () => {
  it.each(inputs)('$name renders the recorded lines', ({ name, file }) => {
    const text = render(load(file));
    const golden = join(dir, `${name}.lines.txt`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });

  it.each(inputs)('$name never exceeds the width it was given', ({ file }) => {
    for (const p of load(file)) {
      for (const w of widths) expect(renderProgress(p, w).length).toBeLessThanOrEqual(w);
      for (const line of renderDisks(p, 60).split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    }
  });
});

describe('renderProgress', () => {
  const p: Progress = {
    phase: 'perform',
    stage: 'ram',
    ramTotalBytes: 676 * 1024 * 1024,
    ramTransferredBytes: 500 * 1024 * 1024,
    ramRemainingBytes: 264 * 1024 * 1024,
    rateBps: 11.2 * 1024 * 1024,
    dirtyRateBps: 2.1 * 1024 * 1024,
    pass: 3,
    etaS: 24,
    etaReason: 'pass 3: dirtied at 2.1 MiB/s, sent at 11.2 MiB/s',
    disks: [],
    elapsedMs: 60_000,
  };

  it('shows the RAM already on the target and clean, rates, and the ETA with its reason', () => {
    expect(renderProgress(p, 160)).toBe(
      'perform ram pass 3  [###############.........]  60%  412/676 MiB  11.2 MiB/s  dirty 2.1 MiB/s  ETA 24s (pass 3: dirtied at 2.1 MiB/s, sent at 11.2 MiB/s)',
    );
  });

  it('shrinks the bar to keep the reason whole, then cuts the reason, and drops the bar before any number', () => {
    expect(renderProgress(p, 140)).toBe(
      'perform ram pass 3  [#######....]  60%  412/676 MiB  11.2 MiB/s  dirty 2.1 MiB/s  ETA 24s (pass 3: dirtied at 2.1 MiB/s, sent at 11.2 MiB/s)',
    );
    expect(renderProgress(p, 110)).toBe(
      'perform ram pass 3  [######....]  60%  412/676 MiB  11.2 MiB/s  dirty 2.1 MiB/s  ETA 24s (pass 3: dirtied at …',
    );
    expect(renderProgress(p, 80)).toBe(
      'perform ram pass 3  60%  412/676 MiB  11.2 MiB/s  dirty 2.1 MiB/s  ETA 24s (pas…',
    );
  });

  it('renders nothing for disks when none are mirrored', () => {
    expect(renderDisks(p)).toBe('');
  });
});
