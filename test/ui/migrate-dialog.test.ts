// The migrate dialog sends what the user chose: policy, post-copy, timeout and its action,
// target pool and the disks to copy, in chromium through the real `vmhop ui` against two
// in-process agents over the fake QEMU (VM v1 with a disk on a's dir pool). The migration
// requests are answered in the browser (a passing pre-flight, then a job id): the test reads
// each request body the dialog sends; what the agent does with the options has its own tests.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair } from '../integration/helpers/agent-pair.js';
import type { TestAgent } from '../integration/helpers/test-agent.js';
import { shot } from './helpers/browser.js';
import { openUi, type UiSession } from './helpers/ui-session.js';

const agents: TestAgent[] = [];
let fake: FakeQemu | undefined;
let session: UiSession | undefined;
let page: Page;

interface Sent {
  mode: string;
  to: string;
  dryRun: boolean;
  options: Record<string, unknown>;
}
const sent: Sent[] = [];
const lastDryRun = () => sent.filter((s) => s.dryRun).at(-1);

beforeAll(async () => {
  fake = await buildFakeQemu();
  const { a, b } = await agentPair(agents, { qemuBinary: fake.binary, disk: true });
  session = await openUi({ a, b }, { width: 1280, height: 1000 });
  page = session.page;
  await page.route('**/api/hosts/a/v1/migrations', async (route) => {
    const body = route.request().postDataJSON() as Sent;
    sent.push(body);
    await route.fulfill(
      body.dryRun
        ? { status: 200, json: { preflight: [{ name: 'target reachable', ok: true, detail: 'ok' }] } }
        : { status: 202, json: { job: { id: 'job-from-dialog' } } },
    );
  });
}, 120_000);

afterAll(async () => {
  await session?.close();
  await Promise.all(agents.map((x) => x.close()));
  await fake?.remove();
});

describe('web UI: the migrate dialog', () => {
  it('sends the chosen policy, post-copy, timeout and its action, target pool and disks', async () => {
    await page.goto(`${session!.ui.url}#/vms`);
    await page.locator('tbody[data-vm="v1"][data-host="a"]').getByRole('button', { name: 'Migrate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Migrate v1 from a' });

    await dialog.getByLabel('Policy').selectOption('postcopy');
    await dialog.getByLabel(/^Allow post-copy/).check();
    await dialog.getByLabel('Switch to post-copy after the first RAM pass').check();
    await expect
      .poll(() => lastDryRun()?.options, { timeout: 15_000 })
      .toMatchObject({ policy: 'postcopy', postcopy: true, postcopyAfterPrecopy: true });
    expect(lastDryRun()).toMatchObject({ mode: 'live-shared', to: 'b' });
    expect(lastDryRun()?.options).not.toHaveProperty('targetPool');

    await dialog.getByRole('radio', { name: /^Live, copy storage \(full\)/ }).check();
    await dialog.getByLabel('Timeout (s)').fill('120');
    await dialog.getByLabel('At the timeout').selectOption('suspend');
    const pool = dialog.getByLabel('Target pool on b');
    await expect.poll(() => pool.locator('option').count(), { timeout: 15_000 }).toBeGreaterThan(1);
    await pool.selectOption('default');
    // vda is on a's dir pool: copied by default (no migrateDisks); leaving it out is sent as such.
    const vda = dialog.getByLabel('Copy vda (default/v1-vda.qcow2)');
    expect(await vda.isChecked()).toBe(true);
    await vda.uncheck();
    await expect.poll(() => lastDryRun()?.options.migrateDisks, { timeout: 15_000 }).toEqual([]);
    await vda.check();
    await expect.poll(() => 'migrateDisks' in (lastDryRun()?.options ?? {}), { timeout: 15_000 }).toBe(false);
    await expect
      .poll(() => lastDryRun()?.options, { timeout: 15_000 })
      .toMatchObject({ copyStorage: 'all', timeoutS: 120, timeoutAction: 'suspend', targetPool: 'default' });
    await shot(page, 'migrate-dialog-options');

    await dialog.getByRole('button', { name: 'Migrate to b' }).click();
    await expect.poll(() => sent.find((s) => !s.dryRun), { timeout: 15_000 }).toBeDefined();
    const start = sent.find((s) => !s.dryRun)!;
    expect(start).toMatchObject({ vm: 'v1', to: 'b', mode: 'live-copy', dryRun: false });
    expect(start.options).toMatchObject({
      policy: 'postcopy',
      postcopy: true,
      postcopyAfterPrecopy: true,
      copyStorage: 'all',
      timeoutS: 120,
      timeoutAction: 'suspend',
      targetPool: 'default',
    });
    expect(start.options).not.toHaveProperty('migrateDisks');
  });
});
