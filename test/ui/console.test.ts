// The graphical console in Debian's chromium through the real `vmhop ui`, against an
// in-process agent running real QEMU (TCG) with vnc: true: the VM's Console tab connects
// noVNC through the UI server and the agent's ticketed WebSocket to the VM's VNC unix socket,
// and its canvas shows the guest's display (pixels that are not the background). Upgrades
// that `vmhop ui` must refuse (no session key, another origin, another path) and one the agent
// refuses (no ticket) are checked with a plain WebSocket client.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestAgent } from '../integration/helpers/test-agent.js';
import { kernelVm, testGuest } from '../integration/helpers/vm-specs.js';
import { shot } from './helpers/browser.js';
import { openUi, type UiSession } from './helpers/ui-session.js';

const VM = 'vncvm';
const guest = testGuest();
let agent: TestAgent | undefined;
let session: UiSession | undefined;
let page: Page;

/** The status of a WebSocket upgrade through `vmhop ui` (101 when it opened). */
function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(new URL(path, session!.ui.url.replace('http', 'ws')).toString(), {
      headers,
      handshakeTimeout: 10_000,
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', reject);
  });
}

/** Pixels of the noVNC canvas that differ from its top-left pixel (the background). A string:
 *  this file is type-checked without the DOM library. */
const drawnPixels = async () =>
  Number(
    await page.evaluate(`(() => {
      const c = document.querySelector('[data-testid="vnc-screen"] canvas');
      if (!c || !c.width || !c.height) return 0;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) n++;
      return n;
    })()`),
  );

beforeAll(async () => {
  if (!guest) return;
  agent = await TestAgent.start({ name: 'a' });
  const boot = {
    kind: 'kernel' as const,
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: 'console=tty0 console=ttyS0',
  };
  expect(
    (await agent.api('POST', '/v1/vms', { spec: kernelVm(VM, { memoryMiB: 128, boot, vnc: true }) })).status,
  ).toBe(201);
  expect((await agent.api('POST', `/v1/vms/${VM}/start`, {})).status).toBe(200);
  session = await openUi({ a: agent });
  page = session.page;
}, 120_000);

afterAll(async () => {
  await session?.close();
  await agent?.close();
});

describe.skipIf(!guest)('web UI: the graphical console', () => {
  it("shows the VM's display in its Console tab", async () => {
    await page.goto(`${session!.ui.url}#/vms`);
    const row = page.locator(`tbody[data-vm="${VM}"]`);
    await row.getByRole('button', { name: VM }).click();
    await row.getByRole('tab', { name: 'Console' }).click();
    await expect
      .poll(() => page.getByTestId('vnc-status').textContent(), { timeout: 30_000 })
      .toBe('connected');
    // The guest's kernel writes to tty0 (VGA) as it boots: text on the background.
    await expect.poll(drawnPixels, { timeout: 60_000 }).toBeGreaterThan(500);
    await shot(page, 'console-1-vnc');
    await row.getByRole('tab', { name: 'Overview' }).click();
    expect(await row.getByRole('button', { name: 'Refresh console' }).isVisible()).toBe(true);
  });

  it('refuses console upgrades without the session key, from another origin, to another path, or without a ticket', async () => {
    const key = new URL(session!.ui.url).searchParams.get('key') ?? '';
    const origin = new URL(session!.ui.url).origin;
    const cookie = `vmhop_ui=${key}`;
    const path = `/api/hosts/a/v1/vms/${VM}/vnc`;
    expect(await upgradeStatus(path, { origin })).toBe(401);
    expect(await upgradeStatus(path, { origin: 'http://evil.example', cookie })).toBe(401);
    expect(await upgradeStatus('/api/hosts/a/v1/events', { origin, cookie })).toBe(404);
    // Through to the agent, which wants a ticket.
    expect(await upgradeStatus(path, { origin, cookie })).toBe(401);
    expect(await upgradeStatus(`${path}?ticket=made-up`, { origin, cookie })).toBe(401);
  });
});
