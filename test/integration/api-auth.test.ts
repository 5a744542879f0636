// The agent API's front door: bearer-token authentication on every route but /health and
// /openapi.json, the OpenAPI document, unknown routes, and /v1/host. Driven through inject().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostInfo } from '../../src/protocol/host.js';
import { qemuVersionText } from '../../src/qmp/testing/test-qemu.js';
import { expectApiError, literally } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

describe('authentication', () => {
  it('refuses a request without a token with 401 VMHOP_ERR_AUTH_MISSING telling how to pass one', async () => {
    const res = await agent.raw({ method: 'GET', url: '/v1/vms' });
    expectApiError(res, 401, 'VMHOP_ERR_AUTH_MISSING', /Authorization: Bearer/);
  });

  it('refuses a wrong token with 401 VMHOP_ERR_AUTH_INVALID', async () => {
    const res = await agent.raw({
      method: 'GET',
      url: '/v1/vms',
      headers: { authorization: 'Bearer not-the-secret' },
    });
    expectApiError(res, 401, 'VMHOP_ERR_AUTH_INVALID', /token was not accepted/);
  });

  it('refuses a credential that is not a bearer token with 401 VMHOP_ERR_AUTH_INVALID', async () => {
    const res = await agent.raw({
      method: 'GET',
      url: '/v1/vms',
      headers: { authorization: 'Basic c2VjcmV0' },
    });
    expectApiError(res, 401, 'VMHOP_ERR_AUTH_INVALID');
  });

  it('refuses a change without a token and makes nothing', async () => {
    const res = await agent.raw({
      method: 'POST',
      url: '/v1/pools/default/volumes',
      payload: { name: 'sneaky.qcow2', sizeBytes: 1 << 20 },
    });
    expectApiError(res, 401, 'VMHOP_ERR_AUTH_MISSING');
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses the event stream without a token', async () => {
    expectApiError(await agent.raw({ method: 'GET', url: '/v1/events' }), 401, 'VMHOP_ERR_AUTH_MISSING');
  });

  it('answers /health without a token', async () => {
    const res = await agent.raw({ method: 'GET', url: '/health' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('answers /health with a query string without a token', async () => {
    const res = await agent.raw({ method: 'GET', url: '/health?probe=1' });
    expect(res.status).toBe(200);
  });

  it('serves /openapi.json without a token, listing every API route', async () => {
    const res = await agent.raw({ method: 'GET', url: '/openapi.json' });
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/host',
        '/v1/vms',
        '/v1/vms/{name}',
        '/v1/vms/{name}/start',
        '/v1/vms/{name}/save',
        '/v1/vms/{name}/restore',
        '/v1/vms/import-xml',
        '/v1/vms/{name}/xml',
        '/v1/pools',
        '/v1/pools/{pool}',
        '/v1/pools/{pool}/volumes',
        '/v1/pools/{pool}/volumes/{volume}',
      ]),
    );
    expect(Object.keys(paths['/v1/pools/{pool}/volumes/{volume}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'delete']),
    );
    // The open routes are documented too, as needing no credentials (issue 16 §4).
    expect((paths['/health']?.get as { security?: unknown })?.security).toEqual([]);
  });
});

describe('unknown routes', () => {
  it('answers an unknown route with 404 naming the method and URL', async () => {
    const res = await agent.api('DELETE', '/v1/nothing/here?x=1');
    expectApiError(res, 404, 'VMHOP_ERR_ROUTE_NOT_FOUND', /DELETE/, literally('/v1/nothing/here'));
  });

  it('answers a known path with an unsupported method with 404 naming both', async () => {
    const res = await agent.api('PUT', '/v1/pools');
    expectApiError(res, 404, 'VMHOP_ERR_ROUTE_NOT_FOUND', /PUT \/v1\/pools/);
  });

  it('asks for a token before it says whether a route exists', async () => {
    expectApiError(await agent.raw({ method: 'GET', url: '/v1/nothing' }), 401, 'VMHOP_ERR_AUTH_MISSING');
  });
});

describe('GET /v1/host', () => {
  it('describes the host: the installed QEMU with its migration features, TCG, and the default pool', async () => {
    const res = await agent.api('GET', '/v1/host');
    expect(res.status).toBe(200);
    const host = HostInfo.strict().parse(res.body);
    expect(host.name).toBe('t');
    const installed = /version (\d+\.\d+\.\d+)/.exec(qemuVersionText())?.[1];
    expect(host.qemuVersion).toBe(installed);
    expect(host.accel).toBe('tcg');
    const [major, minor] = host.qemuVersion.split('.');
    expect(host.machines).toContain(`pc-i440fx-${major}.${minor}`);
    expect(host.machineAliases.pc).toBe(`pc-i440fx-${major}.${minor}`);
    // What every QEMU from 7.2 up has; the newer ones (dirty-limit, block-job-change) depend on the version.
    expect(host.qemuFeatures.migrationCapabilities).toEqual(
      expect.arrayContaining([
        'events',
        'multifd',
        'postcopy-ram',
        'pause-before-switchover',
        'postcopy-preempt',
      ]),
    );
    expect(host.qemuFeatures.migrationParameters).toEqual(
      expect.arrayContaining(['max-bandwidth', 'downtime-limit', 'multifd-compression', 'tls-creds']),
    );
    expect(host.qemuFeatures.multifdCompression).toEqual(expect.arrayContaining(['none', 'zstd']));
    expect(host.qemuFeatures.commands).toEqual(
      expect.arrayContaining(['blockdev-mirror', 'migrate-pause', 'migrate-recover', 'calc-dirty-rate']),
    );
    expect(host.cpuModels).toContain('qemu64');
    expect(host.cpus).toBeGreaterThan(0);
    expect(host.memoryTotalBytes).toBeGreaterThanOrEqual(host.memoryFreeBytes);
    expect(host.vmCount).toBe(0);
    expect(host.migrationAddress).toBe('127.0.0.1');
    expect(host.pools).toEqual([
      expect.objectContaining({ name: 'default', kind: 'dir', path: agent.defaultPoolDir, volumeCount: 0 }),
    ]);
  });
});
