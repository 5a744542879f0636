// Records the `authz` QMP transcript under test/fixtures/qmp/<major.minor>/ from a real QEMU (the
// installed one, or VMHOP_RECORD_QEMU=path, e.g. the 7.2 of scripts/qemu-7.2.sh): the target's peer
// rule (authz-simple) named by the RAM listener's tls-authz and by nbd-server-start, then removed.
// Only runs with VMHOP_RECORD_QMP=1 (it rewrites the fixture); objects.test.ts replays it.

import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { initCa, issueHostCert } from '../../src/credentials/ca.js';
import {
  addTlsCreds,
  admitOnlyPeer,
  AUTHZ_OBJECT_ID,
  removePeerAuthz,
  TLS_OBJECT_ID,
} from '../../src/agent/migration/qemu-settings.js';
import { nbdServerStart, nbdServerStop, queryMigrateParameters } from '../../src/qmp/index.js';
import { recordSession } from '../../src/qmp/testing/record-transcript.js';
import { qemuAvailable, qemuVersionText } from '../../src/qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const recordDir = '/tmp/vmhop-qmp-record-authz';
const recording = process.env['VMHOP_RECORD_QMP'] === '1' && qemuAvailable();
const recordQemu = process.env['VMHOP_RECORD_QEMU'];
const pool = new TestQemuPool(recordDir, recordQemu);

describe.skipIf(!recording)(`recording the authz transcript from ${qemuVersionText(recordQemu)}`, () => {
  beforeAll(() => {
    rmSync(recordDir, { recursive: true, force: true });
    mkdirSync(recordDir, { recursive: true });
  });
  afterAll(() => pool.dispose());

  it('records authz-simple used by the migration listener and the NBD server', async () => {
    await initCa(`${recordDir}/ca`);
    await issueHostCert(`${recordDir}/ca`, `${recordDir}/pki`, 'b', { ips: ['127.0.0.1'] });
    const { session, save } = await recordSession('authz', pool.start({ paused: true, name: 'authz' }));
    // The target's own sequence (target-side.ts), so the replay can drive the same functions.
    await addTlsCreds(session, `${recordDir}/pki`, 'server');
    await admitOnlyPeer(session, 'a');
    await admitOnlyPeer(session, 'a').catch(() => undefined);
    await queryMigrateParameters(session);
    await nbdServerStart(session, {
      addr: { type: 'inet', host: '127.0.0.1', port: '49990' },
      'tls-creds': TLS_OBJECT_ID,
      'tls-authz': AUTHZ_OBJECT_ID,
    });
    await nbdServerStop(session);
    await removePeerAuthz(session);
    await removePeerAuthz(session).catch(() => undefined);
    await save(
      'tls-creds-x509 and authz-simple of a target, a second authz-simple refused (duplicate id), migration tls-authz, nbd-server-start with tls-authz, the rule removed (twice: not found)',
    );
  });
});
