// The web UI's drain page (issue 17 §1), in Debian's chromium through the real `vmhop ui`, against
// two agents in this process over the fake QEMU: a's drain moved v1 to b; the host card links to
// the page, which shows a in maintenance and the drain's report per VM; "End maintenance" undrains.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainRunnerOf } from '../../src/agent/fleet/drain-runner.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair } from '../integration/helpers/agent-pair.js';
import type { TestAgent } from '../integration/helpers/test-agent.js';
import { shot } from './helpers/browser.js';
import { openUi, type UiSession } from './helpers/ui-session.js';

const agents: TestAgent[] = [];
let fake: FakeQemu | undefined;
let session: UiSession | undefined;
let page: Page;
let a: TestAgent;

beforeAll(async () => {
  fake = await buildFakeQemu();
  ({ a } = await agentPair(agents, { qemuBinary: fake.binary }));
  const res = await a.api('POST', '/v1/host/drain', {
    to: ['b'],
    maxPerHost: 1,
    maxPerLink: 1,
    insecure: true,
  });
  expect(res.status, res.text).toBe(202);
  expect((await drainRunnerOf(a.services).wait(res.body.id as string)).state).toBe('completed');
  session = await openUi({ a });
  page = session.page;
}, 120_000);

afterAll(async () => {
  await session?.close();
  await Promise.all(agents.map((x) => x.close()));
  await fake?.remove();
});

describe('web UI: the drain page', () => {
  it('shows the host in maintenance and the drain per VM, and ends the maintenance', async () => {
    await page.goto(`${session!.ui.url}#/hosts`);
    await page.getByRole('link', { name: 'Drain' }).click();
    await expect.poll(() => page.url()).toContain('#/drain/a');
    const status = page.getByRole('status', { name: 'Maintenance' });
    await expect
      .poll(() => status.textContent(), { timeout: 15_000 })
      .toMatch(/^In maintenance since .*drain /);
    const table = page.getByRole('table', { name: 'VMs of the drain' });
    await expect
      .poll(() => table.getByRole('row').nth(1).textContent(), { timeout: 15_000 })
      .toMatch(/^1v1blive-sharedmoved\d+\.\d s\d+ ms$/);
    expect(await page.getByLabel('Drain summary').textContent()).toMatch(
      /^Drain completed: 1 of 1 VMs moved/,
    );
    await shot(page, 'drain-1-report');
    await page.getByRole('button', { name: 'End maintenance' }).click();
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('Not in maintenance.');
    expect((await a.services.hostInfo()).maintenance).toBeUndefined();
    expect(await page.getByRole('button', { name: 'End maintenance' }).count()).toBe(0);
  });
});
