// The target's peer rule replayed against the QEMU 7.2 and 10.0 `authz` transcripts: an
// authz-simple object naming the source's certificate, used by the RAM listener and the NBD
// server, refused a second time, and removed after the move.

import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../qmp/testing/fake-qmp-harness.js';
import { transcriptVersions } from '../../qmp/testing/transcript.js';
import { nbdServerStart, nbdServerStop, queryMigrateParameters } from '../../qmp/index.js';
import {
  addTlsCreds,
  admitOnlyPeer,
  AUTHZ_OBJECT_ID,
  peerIdentity,
  removePeerAuthz,
  TLS_OBJECT_ID,
} from './qemu-settings.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe('peerIdentity', () => {
  it('is the DN gnutls prints for a vmhop host certificate (subject CN only)', () => {
    expect(peerIdentity('host-a')).toBe('CN=host-a');
  });
});

describe.each(transcriptVersions)('the target admits only the source, on QEMU %s', (version) => {
  it('names the source in one authz-simple that the RAM listener and the NBD server use', async () => {
    const { server, session } = await harness.replay('authz', version);
    await addTlsCreds(session, '/tmp/vmhop-qmp-record-authz/pki', 'server');
    await admitOnlyPeer(session, 'a');
    await expect(admitOnlyPeer(session, 'a')).rejects.toMatchObject({
      desc: "attempt to add duplicate property 'vmhop-authz' to object (type 'container')",
    });
    expect(await queryMigrateParameters(session)).toMatchObject({
      'tls-creds': TLS_OBJECT_ID,
      'tls-authz': AUTHZ_OBJECT_ID,
    });
    await nbdServerStart(session, {
      addr: { type: 'inet', host: '127.0.0.1', port: '49990' },
      'tls-creds': TLS_OBJECT_ID,
      'tls-authz': AUTHZ_OBJECT_ID,
    });
    await nbdServerStop(session);
    await removePeerAuthz(session);
    await expect(removePeerAuthz(session)).rejects.toMatchObject({
      desc: "object 'vmhop-authz' not found",
    });
    server.assertDone();
  });
});
