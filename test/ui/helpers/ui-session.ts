// One UI test's session: `vmhop ui` over the given agents (a hosts file in a temp dir), chromium,
// and a page that logs the page's errors; close() ends them all, whatever was started.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { TOKEN, type TestAgent } from '../../integration/helpers/test-agent.js';
import { launch } from './browser.js';
import { startUi, type UiServer } from './ui-server.js';

export interface UiSession {
  ui: UiServer;
  browser: Browser;
  page: Page;
  close: () => Promise<void>;
}

export async function openUi(
  agents: Record<string, TestAgent>,
  viewport = { width: 1280, height: 900 },
): Promise<UiSession> {
  const dir = await mkdtemp(join(tmpdir(), 'vmhop-ui-'));
  const started: { ui?: UiServer; browser?: Browser } = {};
  const close = async () => {
    await started.browser?.close();
    await started.ui?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hosts: Record<string, { url: string; token: string }> = {};
    for (const [name, agent] of Object.entries(agents))
      hosts[name] = { url: await agent.listen(), token: TOKEN };
    await writeFile(join(dir, 'hosts.json'), JSON.stringify({ hosts }));
    const ui = (started.ui = await startUi(undefined, { VMHOP_HOSTS: join(dir, 'hosts.json') }));
    const browser = (started.browser = await launch());
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    return { ui, browser, page, close };
  } catch (e) {
    await close();
    throw e;
  }
}
