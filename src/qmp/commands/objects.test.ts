// QOM object wrappers replayed against the QEMU 7.2 and 10.0 `objects` transcript: tls-creds-x509 added,
// refused, used as migration TLS credentials, deleted.

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { migrateSetParameters, queryMigrateParameters } from './migration.js';
import { objectAdd, objectDel, type TlsCredsX509Object } from './objects.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const dir = '/tmp/vmhop-qmp-record';

describe.each(transcriptVersions)('QOM object commands against the recorded QEMU %s session', (version) => {
  it('adds TLS credentials, uses them for migration, and deletes them', async () => {
    const { server, session } = await harness.replay('objects', version);
    const creds: TlsCredsX509Object = {
      'qom-type': 'tls-creds-x509',
      id: 'tls0',
      dir: `${dir}/pki`,
      endpoint: 'server',
      'verify-peer': true,
    };
    await objectAdd(session, creds);
    await expect(objectAdd(session, creds)).rejects.toMatchObject({
      desc: "attempt to add duplicate property 'tls0' to object (type 'container')",
    });
    await expect(
      objectAdd(session, { ...creds, id: 'tls1', dir: `${dir}/no-such-dir` }),
    ).rejects.toMatchObject({
      desc: `Unable to access credentials ${dir}/no-such-dir/ca-cert.pem: No such file or directory`,
    });
    await migrateSetParameters(session, { 'tls-creds': 'tls0', 'tls-hostname': 'localhost' });
    expect(await queryMigrateParameters(session)).toMatchObject({
      'tls-creds': 'tls0',
      'tls-hostname': 'localhost',
    });
    await migrateSetParameters(session, { 'tls-creds': '', 'tls-hostname': '' });
    await objectDel(session, { id: 'tls0' });
    await expect(objectDel(session, { id: 'tls0' })).rejects.toMatchObject({
      desc: "object 'tls0' not found",
    });
    server.assertDone();
  });
});
