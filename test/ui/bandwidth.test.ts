// The running job page's Bandwidth control, in Debian's chromium through the real `vmhop ui`,
// against two in-process agents over the fake QEMU: a migration capped at 1 MiB/s shows its
// cap, the control lifts it (virsh migrate-setspeed 0), and the migration then completes.
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
let page: Page;
let dir = '';

beforeAll(async () => {
  fake = await buildFakeQemu();
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ui-bandwidth-'));
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await Promise.all(agents.map((x) => x.close()));
  await fake?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('web UI: a running migration’s bandwidth', () => {
  it('shows the cap of a running migration and lifts it from the job page', async () => {
    const { a } = await agentPair(agents, { qemuBinary: fake!.binary });
    await writeFile(
      join(dir, 'hosts.json'),
      JSON.stringify({ hosts: { a: { url: await a.listen(), token: TOKEN } } }),
    );
    ui = await startUi(undefined, { VMHOP_HOSTS: join(dir, 'hosts.json') });
    const id = await startMigration(a, { bandwidthMiBs: 1 });
    await page.goto(`${ui.url}#/jobs/a/${id}`);
    const set = page.getByRole('button', { name: 'Set bandwidth' });
    await expect.poll(() => set.isVisible(), { timeout: 30_000 }).toBe(true);
    const main = page.getByRole('main');
    await expect.poll(() => main.textContent(), { timeout: 15_000 }).toMatch(/now 1 MiB\/s/);
    await shot(page, 'bandwidth-1-capped');
    await page.getByLabel('Bandwidth (MiB/s, 0: no cap)').fill('0');
    await set.click();
    await expect
      .poll(() => page.getByTestId('report-result').textContent(), { timeout: 60_000 })
      .toBe('completed');
    const journal = a.services.jobStore.journalOf(id).map((j) => j.entry);
    expect(journal).toContain('bandwidth set to no cap (was 1 MiB/s)');
    await shot(page, 'bandwidth-2-done');
  });
});
