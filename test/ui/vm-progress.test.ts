// A VM action's progress where it is triggered, in Debian's chromium through the real `vmhop
// ui`, against an in-process agent running the test guest on real QEMU (TCG) with ACPI off, so
// it ignores the power button: Shut down shows the wait against the timeout and what the
// timeout does, until the VM is forced off and the bar goes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, TestAgent } from '../integration/helpers/test-agent.js';
import { kernelVm, testGuest } from '../integration/helpers/vm-specs.js';
import { launch, shot } from './helpers/browser.js';
import { startUi, type UiServer } from './helpers/ui-server.js';

const VM = 'deaf1';
const guest = testGuest();
let agent: TestAgent | undefined;
let ui: UiServer | undefined;
let browser: Browser | undefined;
let page: Page;
let dir = '';

beforeAll(async () => {
  if (!guest) return;
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ui-progress-'));
  agent = await TestAgent.start({ name: 'a' });
  const boot = {
    kind: 'kernel' as const,
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: 'console=ttyS0 quiet acpi=off',
  };
  expect((await agent.api('POST', '/v1/vms', { spec: kernelVm(VM, { memoryMiB: 128, boot }) })).status).toBe(
    201,
  );
  expect((await agent.api('POST', `/v1/vms/${VM}/start`, {})).status).toBe(200);
  await writeFile(
    join(dir, 'hosts.json'),
    JSON.stringify({ hosts: { a: { url: await agent.listen(), token: TOKEN } } }),
  );
  ui = await startUi(undefined, { VMHOP_HOSTS: join(dir, 'hosts.json') });
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await agent?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!guest)('web UI: progress of a VM action', () => {
  it('shows a shutdown waiting for the guest, against its timeout, beside the actions', async () => {
    await page.goto(`${ui!.url}#/vms`);
    const actions = page.getByRole('group', { name: `Actions for ${VM}` });
    await actions.getByRole('button', { name: 'Shut down' }).click();
    const bar = page.getByRole('progressbar', { name: `Shut down ${VM}` });
    await expect
      .poll(() => bar.getAttribute('aria-valuetext').catch(() => null), { timeout: 15_000 })
      .toMatch(/^\d+% \(.* of 1 min 0 s: waiting for the guest to power off; at 60 s the request fails/);
    await shot(page, 'vm-progress-1-shutdown');
    // Forced off meanwhile: the shutdown's wait ends, and its bar with it.
    expect((await agent!.api('POST', `/v1/vms/${VM}/destroy`, {})).status).toBe(200);
    await expect.poll(() => bar.count(), { timeout: 15_000 }).toBe(0);
    expect(agent!.services.vmStore.get(VM)?.state).toBe('shutoff');
  });
});
