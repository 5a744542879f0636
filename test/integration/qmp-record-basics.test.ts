// Records the QMP transcripts under test/fixtures/qmp/<major.minor>/ from a real QEMU (the
// installed one, or VMHOP_RECORD_QEMU=path, e.g. the 7.2 of scripts/qemu-7.2.sh): handshake, run
// state, introspection, the QMP schema, error replies, QOM objects, dirty rate, guest I/O. Only
// runs with VMHOP_RECORD_QMP=1 (it rewrites fixtures); the unit tests replay what it saved.

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import {
  announceSelf,
  calcDirtyRate,
  cont,
  migrate,
  migrateSetParameters,
  objectAdd,
  objectDel,
  pmemsave,
  queryCpuDefinitions,
  queryDirtyRate,
  queryMachines,
  queryMigrate,
  queryMigrateCapabilities,
  queryMigrateParameters,
  queryQmpSchema,
  queryStatus,
  queryVersion,
  quit,
  stop,
  systemPowerdown,
  systemReset,
  type CpuDefinitionInfo,
  type MachineInfo,
  type SchemaInfo,
} from '../../src/qmp/index.js';
import { recordSession } from '../../src/qmp/testing/record-transcript.js';
import { qemuAvailable, qemuVersionText } from '../../src/qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const recordDir = '/tmp/vmhop-qmp-record';
const recording = process.env['VMHOP_RECORD_QMP'] === '1' && qemuAvailable();
/** Another QEMU than the installed one, e.g. the 7.2 of scripts/qemu-7.2.sh. */
const recordQemu = process.env['VMHOP_RECORD_QEMU'];

const pool = new TestQemuPool(recordDir, recordQemu);

function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const poll = async (): Promise<T> => {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
    return poll();
  };
  return poll();
}

describe.skipIf(!recording)(`recording QMP transcripts from ${qemuVersionText(recordQemu)} (basics)`, () => {
  beforeAll(() => {
    rmSync(recordDir, { recursive: true, force: true });
    mkdirSync(recordDir, { recursive: true });
  });
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  it('records the handshake', async () => {
    const { session, save } = await recordSession(
      'handshake',
      pool.start({ paused: true, name: 'handshake' }),
    );
    await queryStatus(session);
    await queryVersion(session);
    await save('greeting, qmp_capabilities, query-status of a QEMU started with -S, query-version');
  });

  it('records run-state changes', async () => {
    const { session, save } = await recordSession(
      'run-state',
      pool.start({ paused: true, name: 'run-state' }),
    );
    await queryStatus(session);
    const resumed = session.waitEvent('RESUME', undefined, { timeoutMs: 5000 });
    await cont(session);
    await resumed;
    await queryStatus(session);
    const stopped = session.waitEvent('STOP', undefined, { timeoutMs: 5000 });
    await stop(session);
    await stopped;
    await queryStatus(session);
    const reset = session.waitEvent('RESET', undefined, { timeoutMs: 5000 });
    await systemReset(session);
    await reset;
    const powerdown = session.waitEvent('POWERDOWN', undefined, { timeoutMs: 5000 });
    await systemPowerdown(session);
    await powerdown;
    const shutdown = session.waitEvent('SHUTDOWN', undefined, { timeoutMs: 5000 });
    await quit(session);
    await shutdown;
    await session.closed;
    await save('query-status, cont (RESUME), stop (STOP), system_reset (RESET), system_powerdown, quit');
  });

  it('records introspection', async () => {
    const { session, recorder, save } = await recordSession(
      'introspection',
      pool.start({ paused: true, name: 'intro' }),
    );
    await queryVersion(session);
    await queryMachines(session);
    await queryCpuDefinitions(session);
    // The recorded version's own types (what the aliases point to), two older ones, microvm.
    const own = /version (\d+\.\d+)\./.exec(qemuVersionText(recordQemu))?.[1];
    const keptMachines = new Set([
      `pc-q35-${own}`,
      `pc-i440fx-${own}`,
      'pc-q35-7.1',
      'pc-q35-5.2',
      'microvm',
    ]);
    recorder.trimReturn('query-machines', (items) =>
      (items as MachineInfo[]).filter((machine) => keptMachines.has(machine.name)),
    );
    const keptCpus = new Set(['max', 'host', 'base', 'qemu64', 'Skylake-Client', 'EPYC', 'Nehalem-v1']);
    recorder.trimReturn('query-cpu-definitions', (items) =>
      (items as CpuDefinitionInfo[]).filter((cpu) => keptCpus.has(cpu.name)),
    );
    await save('query-version, query-machines and query-cpu-definitions (trimmed) under TCG');
  });

  it('records the QMP schema and the migration capabilities', async () => {
    const { session, recorder, save } = await recordSession(
      'qmp-schema',
      pool.start({ paused: true, name: 'schema' }),
    );
    await queryQmpSchema(session);
    await queryMigrateCapabilities(session);
    // Every command, and the types behind migrate-set-parameters: what the agent's features read.
    recorder.trimReturn('query-qmp-schema', (items) => {
      const schema = items as SchemaInfo[];
      const byName = new Map(schema.map((e) => [e.name, e]));
      const setParams = byName.get('migrate-set-parameters');
      const argType = setParams?.['meta-type'] === 'command' ? byName.get(setParams['arg-type']) : undefined;
      const compression =
        argType?.['meta-type'] === 'object'
          ? argType.members.find((m) => m.name === 'multifd-compression')?.type
          : undefined;
      const kept = new Set([argType?.name, compression]);
      return schema.filter((e) => e['meta-type'] === 'command' || kept.has(e.name));
    });
    await save(
      'query-qmp-schema (trimmed to the commands and the migrate-set-parameters types) and query-migrate-capabilities',
    );
  });

  it('records error replies', async () => {
    const { session, save } = await recordSession('errors', pool.start({ paused: true, name: 'errors' }));
    const attempts: [string, Record<string, unknown> | undefined][] = [
      ['no-such-command', undefined],
      ['migrate', { uri: 'bogus:x' }],
      ['migrate-set-parameters', { 'downtime-limit': 300_000_000 }],
      ['migrate-set-capabilities', { capabilities: [{ capability: 'no-such-capability', state: true }] }],
      ['migrate-continue', { state: 'pre-switchover' }],
      ['migrate-pause', undefined],
      ['migrate-recover', { uri: `unix:${recordDir}/recover.sock` }],
      ['migrate-start-postcopy', undefined],
      ['migrate-incoming', { uri: `unix:${recordDir}/incoming.sock` }],
      ['blockdev-del', { 'node-name': 'no-such-node' }],
      ['block-job-complete', { device: 'no-such-job' }],
      ['block-job-cancel', { device: 'no-such-job' }],
      ['nbd-server-stop', undefined],
      ['block-export-del', { id: 'no-such-export' }],
      ['object-del', { id: 'no-such-object' }],
    ];
    for (const [command, args] of attempts) await session.execute(command, args).catch(() => undefined);
    await migrate(session, { uri: `unix:${recordDir}/nobody-listens.sock` });
    await until(
      () => queryMigrate(session),
      (info) => info.status === 'failed',
    );
    await save(
      'commands QEMU refuses (GenericError, CommandNotFound, DeviceNotFound), and a migration that fails',
    );
  });

  it('records QOM objects for TLS', async () => {
    const pki = `${recordDir}/pki`;
    mkdirSync(pki, { recursive: true });
    const openssl = (args: string[]): void => {
      const result = spawnSync('openssl', args, { cwd: pki, stdio: 'ignore' });
      if (result.status !== 0) throw new Error(`openssl ${args[0]} failed`);
    };
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca-key.pem',
        '-out',
        'ca-cert.pem',
      ].concat(['-days', '2', '-subj', '/CN=vmhop-test-ca']),
    );
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server-key.pem',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ]);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca-cert.pem',
        '-CAkey',
        'ca-key.pem',
        '-CAcreateserial',
      ].concat(['-out', 'server-cert.pem', '-days', '2']),
    );
    const { session, save } = await recordSession('objects', pool.start({ paused: true, name: 'objects' }));
    const creds = {
      'qom-type': 'tls-creds-x509',
      id: 'tls0',
      dir: pki,
      endpoint: 'server',
      'verify-peer': true,
    } as const;
    await objectAdd(session, creds);
    await objectAdd(session, creds).catch(() => undefined);
    await objectAdd(session, { ...creds, id: 'tls1', dir: `${recordDir}/no-such-dir` }).catch(
      () => undefined,
    );
    await migrateSetParameters(session, { 'tls-creds': 'tls0', 'tls-hostname': 'localhost' });
    await queryMigrateParameters(session);
    await migrateSetParameters(session, { 'tls-creds': '', 'tls-hostname': '' });
    await objectDel(session, { id: 'tls0' });
    await objectDel(session, { id: 'tls0' }).catch(() => undefined);
    await save(
      'object-add tls-creds-x509 (ok, duplicate id, missing files), migration TLS parameters, object-del',
    );
  });

  it('records a dirty-rate measurement', async () => {
    const { session, save } = await recordSession('dirty-rate', pool.start({ name: 'dirty-rate' }));
    await queryDirtyRate(session);
    await calcDirtyRate(session, { 'calc-time': 1 });
    await queryDirtyRate(session);
    await until(
      () => queryDirtyRate(session),
      (info) => info.status === 'measured',
    );
    await save('calc-dirty-rate (page-sampling) on a running guest, query-dirty-rate until measured');
  });

  it('records guest I/O commands', async () => {
    const { session, save } = await recordSession('guest-io', pool.start({ name: 'guest-io' }));
    await announceSelf(session, { initial: 50, max: 550, rounds: 2, step: 50 });
    await pmemsave(session, { val: 0, size: 4096, filename: `${recordDir}/memory.bin` });
    await save('announce-self and pmemsave on a running guest');
  });
});
