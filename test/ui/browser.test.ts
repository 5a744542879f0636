// The web UI in Debian's chromium against real agents on the test bed (hosts a and b, a
// shared pool), through `vmhop ui`: hosts, a validation error shown in place, create and
// start a test guest, storage, a live migration through the dialog (the chart must update
// while it runs, then the report), a cancelled second migration, the history, a narrow window.
// After each migration the guest's integrity check runs where the guest is left.
// Cases run in order: each builds on the VM the previous one left. Screenshots: artifacts/ui/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readHostsFile, type HostEntry } from '../../src/client/hosts-file.js';
import { expectGuestIntact, snapshotGuest } from '../../src/testbed/integrity.js';
import { vmhop, vmhopOk, vmStates } from '../e2e/helpers/cli.js';
import { launch, shot } from './helpers/browser.js';
import { startUi, type UiServer } from './helpers/ui-server.js';

const VM = 'uivm1';
let ui: UiServer;
let browser: Browser;
let page: Page;

const vmRow = (host: string) => page.locator(`tbody[data-vm="${VM}"][data-host="${host}"]`);

/** The test guest's address: the vmhop.ip= of its kernel command line. */
async function guestIp(host: string): Promise<string> {
  const info = await vmhopOk<{ spec: { boot: { cmdline?: string } } }>(['-c', host, 'dominfo', VM]);
  const ip = /vmhop\.ip=([\d.]+)/.exec(info.spec.boot.cmdline ?? '')?.[1];
  if (!ip) throw new Error(`no vmhop.ip= in the command line of ${VM}: ${info.spec.boot.cmdline}`);
  return ip;
}

/** Number of samples the transfer-rate chart draws now. */
const samples = async () => Number(await page.getByTestId('chart-rate').getAttribute('data-samples'));

beforeAll(async () => {
  ui = await startUi();
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A script error in the page is a failure to see, not a silent blank screen.
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  for (const h of ['a', 'b']) {
    await vmhop(['-c', h, 'destroy', VM]);
    await vmhop(['-c', h, 'undefine', VM]);
  }
  await vmhop(['-c', 'a', 'vol-delete', `shared/${VM}-vda.qcow2`]);
});

describe('web UI on the test bed', () => {
  it('shows each host as reachable with its QEMU version, CPU models, memory, pools and VM count', async () => {
    await page.goto(`${ui.url}#/hosts`);
    for (const h of ['a', 'b']) {
      const card = page.getByRole('listitem', { name: h, exact: true });
      await expect
        .poll(() => card.getByText('reachable', { exact: true }).isVisible(), { timeout: 15_000 })
        .toBe(true);
      await expect.poll(() => card.textContent()).toMatch(/QEMU\s*\d+\.\d+/);
      expect(await card.textContent()).toMatch(/\d+ CPU models/);
      expect(await card.getByRole('meter', { name: `Memory of ${h}` }).count()).toBe(1);
      expect(await card.getByRole('meter', { name: `Pool shared on ${h}` }).count()).toBe(1);
    }
    await shot(page, '1-hosts');
  });

  it('adds a connection from the form (written to the hosts file), shows it reachable, and removes it', async () => {
    const a = readHostsFile().hosts.a as HostEntry;
    const form = page.getByRole('form', { name: 'Add connection' });
    await form.getByLabel('Name').fill('a-again');
    await form.getByLabel('Agent URL').fill(a.url);
    await form.getByLabel('Token').fill(a.token ?? '');
    await form.getByLabel('CA file (on this machine)').fill(a.ca ?? '');
    await form.getByRole('button', { name: 'Add connection' }).click();
    const card = page.getByRole('listitem', { name: 'a-again', exact: true });
    await expect
      .poll(() => card.getByText('reachable', { exact: true }).isVisible(), { timeout: 15_000 })
      .toBe(true);
    expect(readHostsFile().hosts['a-again']).toEqual(a);
    await card.getByRole('button', { name: 'Remove connection' }).click();
    await page
      .getByRole('dialog', { name: 'Remove connection a-again?' })
      .getByRole('button', { name: 'Remove' })
      .click();
    await expect.poll(() => card.count()).toBe(0);
    expect(readHostsFile().hosts['a-again']).toBeUndefined();
  });

  it("shows the agent's validation message in place when the VM name is invalid", async () => {
    await page.goto(`${ui.url}#/vms`);
    await page.getByRole('button', { name: 'Create VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a virtual machine' });
    await dialog.getByLabel('Name', { exact: true }).fill('bad name!');
    await dialog.getByLabel('Start it after creating').uncheck();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const alert = dialog.getByRole('alert', { name: 'Create error' });
    await alert.waitFor({ timeout: 15_000 });
    const text = await alert.textContent();
    expect(text).toMatch(/VM name/);
    expect(text).toMatch(/VMHOP_ERR_(VM_SPEC_INVALID|USAGE)/);
    await shot(page, '2-validation-error');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await vmStates(VM)).toEqual({});
  });

  it('creates a test guest with a disk on the shared pool and starts it; the row follows pause and resume', async () => {
    await page.getByRole('button', { name: 'Create VM' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a virtual machine' });
    await dialog.getByLabel('Host').selectOption('a');
    await dialog.getByLabel('Name', { exact: true }).fill(VM);
    await dialog.getByLabel('Disk size (MiB, empty for none)').fill('64');
    await dialog.getByLabel('Disk pool').fill('shared');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => dialog.count(), { timeout: 60_000 }).toBe(0);
    const badge = vmRow('a').locator('.badge');
    await expect.poll(() => badge.textContent(), { timeout: 60_000 }).toBe('running');
    expect(await vmStates(VM)).toEqual({ a: 'running' });

    // Pause and resume from the row: the badge changes through the SSE stream, no reload.
    await vmRow('a').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe('paused');
    await vmRow('a').getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe('running');

    await vmRow('a').getByRole('button', { name: VM }).click();
    const consoleLog = page.getByLabel(`Console log of ${VM}`);
    await consoleLog.waitFor();
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh console' }).click();
          return (await consoleLog.textContent())?.length ?? 0;
        },
        { timeout: 60_000, interval: 2_000 },
      )
      .toBeGreaterThan(20);
    await shot(page, '3-vms');
  });

  it('shows pools with usage and the new volume on the Storage page', async () => {
    await page.goto(`${ui.url}#/storage`);
    const pools = page.getByRole('list', { name: 'Pools on a' });
    const shared = pools.getByRole('listitem', { name: 'shared', exact: true });
    await shared.getByRole('button', { name: 'Show volumes' }).click();
    await shared.getByRole('rowheader', { name: `${VM}-vda.qcow2` }).waitFor({ timeout: 15_000 });
    await shot(page, '4-storage');
  });

  it('live-migrates the VM to b through the dialog, the chart updating while it runs, then shows the report', async () => {
    await page.goto(`${ui.url}#/vms`);
    await vmRow('a').getByRole('button', { name: 'Migrate' }).click();
    const dialog = page.getByRole('dialog', { name: `Migrate ${VM} from a` });
    const target = dialog.getByRole('radio', { name: /^b/ });
    await expect.poll(() => target.isEnabled(), { timeout: 60_000 }).toBe(true);
    await dialog.getByLabel('Bandwidth limit (MiB/s)').fill('2');
    // The dry run runs again with the new options; the pre-flight shows before confirming.
    await expect
      .poll(() => dialog.getByRole('list', { name: 'Pre-flight checks on b' }).count(), { timeout: 60_000 })
      .toBe(1);
    await expect.poll(() => target.isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(await dialog.getByRole('list', { name: 'Pre-flight checks on b' }).textContent()).toMatch(
      /cpu-model/,
    );
    await shot(page, '5a-migrate-dialog');
    await dialog.getByRole('list', { name: 'Pre-flight checks on b' }).scrollIntoViewIfNeeded();
    await shot(page, '5b-migrate-dialog-preflight');
    const ip = await guestIp('a');
    const before = await snapshotGuest(ip);
    await dialog.getByRole('button', { name: 'Migrate to b' }).click();

    await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).toMatch(/^#\/jobs\/a\//);
    await expect.poll(samples, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const first = await samples();
    await expect.poll(samples, { timeout: 60_000 }).toBeGreaterThanOrEqual(first + 4);
    expect(await page.getByLabel('Transfer rate, latest').textContent()).toMatch(/\d.*B\/s/);
    expect(await page.getByRole('progressbar', { name: 'RAM' }).getAttribute('aria-valuenow')).toMatch(
      /^\d+$/,
    );
    // A fuller chart for the screenshot; the migration at 2 MiB/s runs for half a minute.
    await expect.poll(samples, { timeout: 60_000 }).toBeGreaterThanOrEqual(40);
    await shot(page, '6-migration-running');

    const result = page.getByTestId('report-result');
    await expect.poll(() => result.textContent(), { timeout: 240_000 }).toBe('completed');
    expect(await page.getByTestId('report-total').textContent()).toMatch(/\d/);
    expect(await page.getByTestId('report-downtime').textContent()).toMatch(/\d+ ms|\d+\.\d s/);
    expect(await page.getByTestId('report-ram').textContent()).toMatch(/\d.*[KMG]iB/);
    await shot(page, '7-migration-report');
    const where = await vmStates(VM);
    expect(where.b).toBe('running');
    expect(where.a === undefined || where.a === 'moved').toBe(true);
    await expectGuestIntact({ ip, before, targetHost: 'b', vm: VM });
  });

  it('cancels a second migration from its progress page; the VM keeps running on its source', async () => {
    await page.goto(`${ui.url}#/vms`);
    await expect.poll(() => vmRow('b').locator('.badge').textContent(), { timeout: 20_000 }).toBe('running');
    await vmRow('b').getByRole('button', { name: 'Migrate' }).click();
    const dialog = page.getByRole('dialog', { name: `Migrate ${VM} from b` });
    await dialog.getByLabel('Bandwidth limit (MiB/s)').fill('1');
    const target = dialog.getByRole('radio', { name: /^a/ });
    await expect.poll(() => target.isEnabled(), { timeout: 60_000 }).toBe(true);
    const ip = await guestIp('b');
    const before = await snapshotGuest(ip);
    await dialog.getByRole('button', { name: 'Migrate to a' }).click();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).toMatch(/^#\/jobs\/b\//);
    await expect.poll(samples, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Cancel migration' }).click();
    await expect
      .poll(() => page.getByTestId('report-result').textContent(), { timeout: 120_000 })
      .toBe('cancelled');
    await shot(page, '8-migration-cancelled');
    expect((await vmStates(VM)).b).toBe('running');
    await expectGuestIntact({ ip, before, targetHost: 'b', vm: VM });
  });

  it('switches a third migration to post-copy from its progress page; the report says so', async () => {
    await page.goto(`${ui.url}#/vms`);
    await expect.poll(() => vmRow('b').locator('.badge').textContent(), { timeout: 20_000 }).toBe('running');
    await vmRow('b').getByRole('button', { name: 'Migrate' }).click();
    const dialog = page.getByRole('dialog', { name: `Migrate ${VM} from b` });
    await dialog.getByLabel('Bandwidth limit (MiB/s)').fill('4');
    const after = dialog.getByLabel('Switch to post-copy after the first RAM pass');
    expect(await after.isDisabled()).toBe(true);
    await dialog.getByLabel(/^Allow post-copy/).check();
    expect(await after.isEnabled()).toBe(true);
    const target = dialog.getByRole('radio', { name: /^a/ });
    await expect.poll(() => target.isEnabled(), { timeout: 60_000 }).toBe(true);
    const ip = await guestIp('b');
    const before = await snapshotGuest(ip);
    await dialog.getByRole('button', { name: 'Migrate to a' }).click();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).toMatch(/^#\/jobs\/b\//);
    await expect.poll(samples, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Switch to post-copy' }).click();
    await expect
      .poll(() => page.getByTestId('report-result').textContent(), { timeout: 180_000 })
      .toBe('completed');
    expect(await page.getByRole('main').textContent()).toMatch(/Post-copy.*migrate-postcopy/);
    await shot(page, '8b-migration-postcopy');
    // The report is the source's; the target ends its own job when its last page arrives.
    await expect.poll(async () => (await vmStates(VM)).a, { timeout: 10_000 }).toBe('running');
    await expectGuestIntact({ ip, before, targetHost: 'a', vm: VM });
  });

  it('lists the three migrations in the history', async () => {
    await page.goto(`${ui.url}#/migrations`);
    const table = page.getByRole('table', { name: 'History of migrations' });
    await expect.poll(() => table.getByRole('row').count(), { timeout: 15_000 }).toBe(4);
    const text = await table.textContent();
    expect(text).toMatch(/completed/);
    expect(text).toMatch(/cancelled/);
    await shot(page, '9-migrations');
  });

  it('is usable by keyboard: skip link, navigation, and a dialog that takes focus and closes on Escape', async () => {
    const focused = () => page.evaluate<string>('document.activeElement?.textContent ?? ""');
    // A fresh load: a hash change alone would keep the focus of the previous page.
    await page.goto(`${ui.url}#/hosts`);
    await page.reload();
    await page.getByRole('heading', { name: 'Hosts' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Virtual machines');
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).hash).toBe('#/vms');
    await page.getByRole('button', { name: 'Create VM' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create a virtual machine' });
    await dialog.waitFor();
    expect(await page.evaluate<boolean>('!!document.activeElement?.closest("dialog")')).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it('stays usable on a narrow window', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${ui.url}#/vms`);
    await expect.poll(() => vmRow('a').locator('.badge').textContent(), { timeout: 20_000 }).toBe('running');
    // Runs in the browser: the string form keeps DOM globals out of this Node-typed file.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, '10-vms-narrow');
    await page.goto(`${ui.url}#/hosts`);
    await page.getByText('reachable', { exact: true }).first().waitFor();
    await shot(page, '11-hosts-narrow');
  });
});
