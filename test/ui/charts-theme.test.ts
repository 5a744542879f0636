// The job page's charts (uPlot) and the two themes, in chromium through the real `vmhop ui`,
// against two in-process agents over the fake QEMU with a migration capped at 1 MiB/s so it
// runs long enough to draw. The charts have a time axis (the cursor's readout shows m:ss and a
// value with its unit); the page follows prefers-color-scheme (colorScheme 'dark' gives the
// dark theme, 'light' the light one) and every state badge keeps 4.5:1 contrast in both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair, startMigration } from '../integration/helpers/agent-pair.js';
import { TOKEN, type TestAgent } from '../integration/helpers/test-agent.js';
import { launch, shot } from './helpers/browser.js';
import { startUi, type UiServer } from './helpers/ui-server.js';

const agents: TestAgent[] = [];
let fake: FakeQemu | undefined;
let ui: UiServer | undefined;
let browser: Browser | undefined;
let dir = '';
let jobUrl = '';

const STATES = [
  'running',
  'paused',
  'migrating',
  'shutoff',
  'crashed',
  'moved',
  'completed',
  'failed',
  'cancelled',
];

/** WCAG relative luminance of an `rgb(r, g, b)` string. */
function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? [])
    .slice(0, 3)
    .map(Number)
    .map((c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
};

async function openPage(colorScheme: 'light' | 'dark'): Promise<Page> {
  const ctx = await browser!.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(jobUrl);
  return page;
}

/** Text and background colours of a badge of every state, as the page computes them. */
async function badgeColours(page: Page): Promise<{ state: string; fg: string; bg: string }[]> {
  return (await page.evaluate(`(() => ${JSON.stringify(STATES)}.map((state) => {
    const el = document.createElement('span');
    el.className = 'badge state-' + state;
    el.textContent = state;
    document.body.appendChild(el);
    const cs = getComputedStyle(el);
    const out = { state, fg: cs.color, bg: cs.backgroundColor };
    el.remove();
    return out;
  }))()`)) as { state: string; fg: string; bg: string }[];
}

/** The chart's line colour against the card it is drawn on (graphics need 3:1, WCAG 1.4.11). */
async function chartLineColours(page: Page): Promise<{ fg: string; bg: string }> {
  return (await page.evaluate(`(() => {
    const el = document.createElement('span');
    el.style.color = 'var(--chart-line)';
    el.style.backgroundColor = 'var(--card)';
    document.body.appendChild(el);
    const cs = getComputedStyle(el);
    const out = { fg: cs.color, bg: cs.backgroundColor };
    el.remove();
    return out;
  })()`)) as { fg: string; bg: string };
}

beforeAll(async () => {
  fake = await buildFakeQemu();
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ui-charts-'));
  const { a } = await agentPair(agents, { qemuBinary: fake.binary });
  await writeFile(
    join(dir, 'hosts.json'),
    JSON.stringify({ hosts: { a: { url: await a.listen(), token: TOKEN } } }),
  );
  ui = await startUi(undefined, { VMHOP_HOSTS: join(dir, 'hosts.json') });
  browser = await launch();
  const id = await startMigration(a, { bandwidthMiBs: 1 });
  jobUrl = `${ui.url}#/jobs/a/${id}`;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await Promise.all(agents.map((x) => x.close()));
  await fake?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('web UI: charts and themes', () => {
  it('draws the transfer rate over a time axis, with the unit on the values, in the dark theme', async () => {
    const page = await openPage('dark');
    const chart = page.getByTestId('chart-rate');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-samples')), { timeout: 30_000 })
      .toBeGreaterThan(3);
    expect(await chart.locator('canvas').count()).toBe(1);
    // Hover the plot's right half: the readout names the time (m:ss) and the rate with its unit.
    const over = chart.locator('.u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    const legend = chart.locator('.u-legend');
    await expect.poll(() => legend.textContent(), { timeout: 10_000 }).toMatch(/time\s*\d+:\d\d/);
    expect(await legend.textContent()).toMatch(/Transfer rate\s*[\d.]+ (B|KiB|MiB)\/s/);
    const bg = (await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')) as string;
    expect(luminance(bg)).toBeLessThan(0.05);
    await shot(page, 'charts-dark');
    const line = await chartLineColours(page);
    expect(contrast(line.fg, line.bg), 'chart line on its card, dark').toBeGreaterThanOrEqual(3);
    for (const b of await badgeColours(page))
      expect(contrast(b.fg, b.bg), `${b.state} badge in dark`).toBeGreaterThanOrEqual(4.5);
  });

  it('uses the light theme when the system is light, its badges readable too', async () => {
    const page = await openPage('light');
    await expect
      .poll(async () => Number(await page.getByTestId('chart-rate').getAttribute('data-samples')), {
        timeout: 30_000,
      })
      .toBeGreaterThan(1);
    const bg = (await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')) as string;
    expect(luminance(bg)).toBeGreaterThan(0.8);
    await shot(page, 'charts-light');
    const line = await chartLineColours(page);
    expect(contrast(line.fg, line.bg), 'chart line on its card, light').toBeGreaterThanOrEqual(3);
    for (const b of await badgeColours(page))
      expect(contrast(b.fg, b.bg), `${b.state} badge in light`).toBeGreaterThanOrEqual(4.5);
  });
});
