// The options table checked against real QEMU (TCG, -S, no guest): every accepted golden plan is
// applied to the QEMUs its facts name (the installed 10.0 and, where scripts/qemu-7.2.sh unpacked
// it, 7.2: source side to one QEMU, target side to another), read back, and used for a real
// migration over a unix socket (x509 TLS where the plan asks for it); and every refusal that is
// about QEMU is shown to be QEMU's own limit, not ours. Every QEMU is killed after each test.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../protocol/migration.js';
import {
  migrate,
  migrateCancel,
  migrateContinue,
  migrateIncoming,
  migrateSetCapabilities,
  migrateSetParameters,
  migrateStartPostcopy,
  objectAdd,
  queryMigrate,
  queryMigrateCapabilities,
  queryMigrateParameters,
  type QmpSession,
} from '../../qmp/index.js';
import { qemu72Binary, qemuAvailable, qemuBinary, qemuVersionText } from '../../qmp/testing/test-qemu.js';
import { migrationReaches, TestQemuPool } from '../../qmp/testing/test-qemu-pool.js';
import { initCa, issueHostCert } from '../../credentials/ca.js';
import { contextOf, optionsFixtureDir, type OptionsFixtureInput } from './options-fixtures.js';
import type { SideSettings } from '../peers/peer-link.js';
import { planMigrationSettings } from './options.js';
import { applySettings } from './qemu-settings.js';

const fixtures = optionsFixtureDir;
const accepted = readdirSync(fixtures)
  .filter((f) => f.endsWith('.input.json') && !f.startsWith('error-'))
  .map((f) => f.replace('.input.json', ''));

const events = { capability: 'events', state: true } as const;
const pool = new TestQemuPool();
let certDir = '';

async function apply(session: QmpSession, side: SideSettings, endpoint: 'client' | 'server'): Promise<void> {
  const creds = side.parameters['tls-creds'];
  if (typeof creds === 'string' && creds)
    await objectAdd(session, { 'qom-type': 'tls-creds-x509', id: creds, dir: certDir, endpoint });
  await applySettings(session, side);
}

async function expectReadBack(session: QmpSession, side: SideSettings): Promise<void> {
  expect(await queryMigrateCapabilities(session)).toEqual(expect.arrayContaining(side.capabilities));
  expect(await queryMigrateParameters(session)).toMatchObject(side.parameters);
}

const installed = /version (\d+\.\d+\.\d+)/.exec(qemuVersionText())?.[1];
const qemu72 = qemu72Binary();

/** The binary of a fixture's `VERSION/ACCEL` side, or undefined when that QEMU is not here. */
function binaryOf(side: string): string | undefined {
  const version = side.split('/')[0];
  if (version === installed) return qemuBinary;
  return version?.startsWith('7.2.') ? qemu72 : undefined;
}

/**
 * Two paused QEMUs, the target waiting for migrate-incoming on `uri`. Across versions both run the
 * older one's q35 type, as vmhop's target runs the source's resolved machine type.
 */
async function pair(
  name: string,
  binaries: { source?: string; target?: string } = {},
): Promise<{ source: QmpSession; target: QmpSession; uri: string }> {
  const mixed = (binaries.source ?? qemuBinary) !== (binaries.target ?? qemuBinary);
  const extraArgs = mixed ? ['-machine', 'pc-q35-7.2'] : [];
  const target = await pool.connect(
    pool.start({ name: `${name}-t`, paused: true, incomingDefer: true, binary: binaries.target, extraArgs }),
  );
  const source = await pool.connect(
    pool.start({ name: `${name}-s`, paused: true, binary: binaries.source, extraArgs }),
  );
  return { source, target, uri: `unix:${pool.dir}/${name}.sock` };
}

describe.skipIf(!qemuAvailable())('the QEMUs a plan was made for take it', () => {
  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'vmhop-options-tls-'));
    await initCa(join(certDir, 'ca'));
    // One certificate answering to both hostnames the fixtures use.
    await issueHostCert(join(certDir, 'ca'), certDir, 'host-b', { ips: ['10.77.0.2'], dns: ['host-b'] });
  });
  afterEach(() => pool.stopAll());
  afterAll(async () => {
    await pool.dispose();
    rmSync(certDir, { recursive: true, force: true });
  });

  it.each(accepted)('%s: both sides accept it, read it back and migrate with it', async (name) => {
    const input = JSON.parse(
      readFileSync(join(fixtures, `${name}.input.json`), 'utf8'),
    ) as OptionsFixtureInput;
    const plan = planMigrationSettings(MigrationOptions.parse(input.options), contextOf(input));
    const binaries = {
      source: input.qemu ? binaryOf(input.qemu.source) : qemuBinary,
      target: input.qemu ? binaryOf(input.qemu.target) : qemuBinary,
    };
    if (!binaries.source || !binaries.target) return; // that QEMU is not installed here
    const { source, target, uri } = await pair(name, binaries);
    await apply(source, plan.source, 'client');
    await apply(target, plan.target, 'server');
    await expectReadBack(source, plan.source);
    await expectReadBack(target, plan.target);

    await migrateIncoming(target, { uri });
    const preSwitchover = migrationReaches(source, 'pre-switchover');
    const sourceDone = migrationReaches(source, 'completed');
    const targetDone = migrationReaches(target, 'completed');
    await migrate(source, { uri });
    await preSwitchover;
    await migrateContinue(source, { state: 'pre-switchover' });
    await Promise.all([sourceDone, targetDone]);
  });

  it('checks tls-hostname on the source: a name the certificate does not carry fails the migration', async () => {
    const plan = planMigrationSettings(MigrationOptions.parse({}), {
      tls: { credsId: 'tls0', hostname: 'host-c' },
    });
    const { source, target, uri } = await pair('tls-name');
    await apply(source, plan.source, 'client');
    await apply(target, plan.target, 'server');
    await migrateIncoming(target, { uri });
    const failed = migrationReaches(source, 'failed');
    await migrate(source, { uri });
    await failed;
    expect((await queryMigrate(source))['error-desc']).toBe('Certificate does not match the hostname host-c');
  });
});

describe.skipIf(!qemuAvailable())('what QEMU itself does with the combinations vmhop refuses', () => {
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  it.skipIf(!installed?.startsWith('10.0.'))(
    'QEMU 10.0 refuses postcopy-ram with multifd at migrate-set-capabilities',
    async () => {
      const session = await pool.connect(pool.start({ name: 'pc-mfd-10', paused: true }));
      await expect(
        migrateSetCapabilities(session, {
          capabilities: [
            { capability: 'postcopy-ram', state: true },
            { capability: 'multifd', state: true },
          ],
        }),
      ).rejects.toMatchObject({ desc: 'Postcopy is not yet compatible with multifd' });
    },
  );

  it.skipIf(!qemu72)(
    'QEMU 7.2 accepts postcopy-ram with multifd, then aborts the target once post-copy starts',
    async () => {
      const targetQemu = pool.start({ name: 'pc-mfd-t', paused: true, incomingDefer: true, binary: qemu72 });
      const target = await pool.connect(targetQemu);
      const source = await pool.connect(pool.start({ name: 'pc-mfd-s', paused: true, binary: qemu72 }));
      const uri = `unix:${pool.dir}/pc-mfd.sock`;
      const capabilities = [
        events,
        { capability: 'postcopy-ram', state: true } as const,
        { capability: 'multifd', state: true } as const,
      ];
      await migrateSetCapabilities(source, { capabilities });
      await migrateSetCapabilities(target, { capabilities });
      await migrateSetParameters(source, { 'max-bandwidth': 32 * 1024 });
      await migrateIncoming(target, { uri });
      const active = migrationReaches(source, 'active');
      const sourceDone = migrationReaches(source, 'completed');
      await migrate(source, { uri });
      await active;
      await migrateStartPostcopy(source);
      // The worst outcome: the source believes it handed over, the target is gone.
      await sourceDone;
      expect((await targetQemu.exited).signal).toBe('SIGABRT');
      expect(targetQemu.stderr()).toContain(
        "yank_unregister_instance: Assertion `QLIST_EMPTY(&entry->yankfns)' failed.",
      );
    },
  );

  it('needs postcopy-ram on the target too: with it on the source only the target fails', async () => {
    const targetQemu = pool.start({ name: 'pc-src-t', paused: true, incomingDefer: true });
    const target = await pool.connect(targetQemu);
    const source = await pool.connect(pool.start({ name: 'pc-src-s', paused: true }));
    await migrateSetCapabilities(source, {
      capabilities: [events, { capability: 'postcopy-ram', state: true }],
    });
    await migrateSetCapabilities(target, { capabilities: [events] });
    const uri = `unix:${pool.dir}/pc-src.sock`;
    await migrateIncoming(target, { uri });
    const failed = migrationReaches(source, 'failed');
    await migrate(source, { uri });
    await failed;
    expect((await targetQemu.exited).code).toBe(1);
    expect(targetQemu.stderr()).toContain('RAM postcopy is disabled but have 16 byte advise');
  });

  it('refuses migrate-start-postcopy without postcopy-ram (--postcopy-after-precopy, --timeout-action postcopy)', async () => {
    const { source, target, uri } = await pair('no-pc');
    await migrateSetCapabilities(source, { capabilities: [events] });
    await migrateSetParameters(source, { 'max-bandwidth': 32 * 1024 });
    await migrateIncoming(target, { uri });
    const active = migrationReaches(source, 'active');
    await migrate(source, { uri });
    await active;
    await expect(migrateStartPostcopy(source)).rejects.toMatchObject({
      desc: 'Enable postcopy with migrate_set_capability before the start of migration',
    });
    const cancelled = migrationReaches(source, 'cancelled');
    await migrateCancel(source);
    await cancelled;
  });

  it('takes multifd-compression without multifd and sends nothing through multifd', async () => {
    const { source, target, uri } = await pair('cmp');
    for (const session of [source, target]) {
      await migrateSetCapabilities(session, { capabilities: [events] });
      await migrateSetParameters(session, { 'multifd-compression': 'zlib' });
    }
    await migrateIncoming(target, { uri });
    const done = migrationReaches(source, 'completed');
    await migrate(source, { uri });
    await done;
    const info = await queryMigrate(source);
    expect(info.ram?.['multifd-bytes']).toBe(0);
    expect(info.compression).toBeUndefined();
  });

  it('cannot take SIZE_MAX as max-bandwidth from a JS number, but takes and returns 2^53-1 exactly', async () => {
    const session = await pool.connect(pool.start({ name: 'bw', paused: true }));
    await expect(migrateSetParameters(session, { 'max-bandwidth': 2 ** 64 - 1 })).rejects.toMatchObject({
      desc: "Parameter 'max-bandwidth' expects uint64",
    });
    await migrateSetParameters(session, { 'max-bandwidth': Number.MAX_SAFE_INTEGER });
    expect((await queryMigrateParameters(session))['max-bandwidth']).toBe(Number.MAX_SAFE_INTEGER);
  });
});
