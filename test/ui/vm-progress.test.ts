// A VM action's progress where it is triggered, in Debian's chromium through the real `vmhop
// ui`, against an in-process agent running the test guest on real QEMU (TCG) with ACPI off, so
// it ignores the power button: Shut down shows the wait against the timeout and what the
// timeout does, until the VM is forced off and the bar goes.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent } from '../integration/helpers/test-agent.js';
import { kernelVm, testGuest } from '../integration/helpers/vm-specs.js';
import { shot } from './helpers/browser.js';
import { openUi, type UiSession } from './helpers/ui-session.js';

const VM = 'deaf1';
const guest = testGuest();
let agent: TestAgent | undefined;
let session: UiSession | undefined;
let page: Page;

beforeAll(async () => {
  if (!guest) return;
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
  session = await openUi({ a: agent });
  page = session.page;
}, 120_000);

afterAll(async () => {
  await session?.close();
  await agent?.close();
});

describe.skipIf(!guest)('web UI: progress of a VM action', () => {
  it('shows a shutdown waiting for the guest, against its timeout, beside the actions', async () => {
    await page.goto(`${session!.ui.url}#/vms`);
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
