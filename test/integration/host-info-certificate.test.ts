// GET /v1/host through the agent's app: the certificate its config names (tls.cert), with its end
// and days left, so `vmhop host info` and the UI can warn before peers and QEMU refuse it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, issueHostCert, type IssuedCert } from '../../src/credentials/ca.js';
import { HostInfo } from '../../src/protocol/host.js';
import { TestAgent } from './helpers/test-agent.js';

let dir: string;
let cert: IssuedCert;
let agent: TestAgent;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-host-cert-'));
  await initCa(join(dir, 'ca'));
  cert = await issueHostCert(join(dir, 'ca'), join(dir, 'tls'), 't', { ips: ['127.0.0.1'] });
  agent = await TestAgent.start({ tls: cert });
});
afterAll(async () => {
  await agent?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/host', () => {
  it("reports the end of the agent's certificate, with no warning for a fresh one", async () => {
    const res = await agent.api('GET', '/v1/host');
    expect(res.status).toBe(200);
    const host = HostInfo.strict().parse(res.body);
    expect(host.certificate).toEqual({
      file: cert.cert,
      subject: 'CN=t',
      notAfter: cert.notAfter,
      daysLeft: 824,
    });
  });
});
