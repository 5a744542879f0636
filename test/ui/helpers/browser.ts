// Debian's chromium driven by playwright-core (the browser download of `npx playwright
// install` is not available here), and screenshots saved under artifacts/ui/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../../src/repo/paths.js';

export const ARTIFACTS = join(REPO_ROOT, 'artifacts', 'ui');

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.VMHOP_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
