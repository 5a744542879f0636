// Malformed requests at the HTTP edge: bodies that are not JSON, fields of the wrong type,
// values out of range. Each becomes 400 VMHOP_ERR_USAGE in the {error: {code, message,
// details}} shape, naming the field, and nothing is made.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

const json = { 'content-type': 'application/json' };

describe('bodies that are not JSON', () => {
  it('refuses a body that does not parse as JSON with 400 VMHOP_ERR_USAGE and defines nothing', async () => {
    const res = await agent.api('POST', '/v1/vms', '{"spec": {"name": "web1",', json);
    const err = expectApiError(res, 400, 'VMHOP_ERR_USAGE', /not valid JSON/);
    expect(res.body).toEqual({
      error: { code: 'VMHOP_ERR_USAGE', message: err.message, details: expect.any(Object) },
    });
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses an empty body sent as JSON with 400 VMHOP_ERR_USAGE', async () => {
    expectApiError(
      await agent.api('POST', '/v1/pools/default/volumes', '', json),
      400,
      'VMHOP_ERR_USAGE',
      /empty/i,
    );
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a body of another media type with 400 VMHOP_ERR_USAGE naming it unsupported', async () => {
    const res = await agent.api('POST', '/v1/pools/default/volumes', 'name=d0&sizeBytes=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /Unsupported Media Type/);
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('refuses a JSON array where an object belongs with 400 VMHOP_ERR_USAGE', async () => {
    expectApiError(
      await agent.api('POST', '/v1/vms/import-xml', ['<domain/>']),
      400,
      'VMHOP_ERR_USAGE',
      /Expected object/,
    );
  });
});

describe('fields of the wrong type or out of range', () => {
  it('names a volume size given as a string', async () => {
    const res = await agent.api('POST', '/v1/pools/default/volumes', { name: 'd0.qcow2', sizeBytes: '10G' });
    const err = expectApiError(res, 400, 'VMHOP_ERR_USAGE', /sizeBytes: Expected number, received string/);
    expect(err.details.issues).toEqual([expect.stringMatching(/^sizeBytes: /)]);
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('names a negative volume size', async () => {
    const res = await agent.api('POST', '/v1/pools/default/volumes', { name: 'd0.qcow2', sizeBytes: -1 });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /sizeBytes: Number must be greater than 0/);
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('names an unknown volume format', async () => {
    const res = await agent.api('POST', '/v1/pools/default/volumes', {
      name: 'd0.vmdk',
      sizeBytes: 1 << 20,
      format: 'vmdk',
    });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /format: Invalid enum value.*'vmdk'/);
    expect(agent.defaultPoolFiles()).toEqual([]);
  });

  it('names every bad field at once', async () => {
    const res = await agent.api('POST', '/v1/pools/default/volumes', {
      name: 7,
      sizeBytes: 'x',
      allowOvercommit: 'yes',
    });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /name: /, /sizeBytes: /, /allowOvercommit: /);
  });

  it('names an xml field that is not a string', async () => {
    expectApiError(
      await agent.api('POST', '/v1/vms/import-xml', { xml: 5 }),
      400,
      'VMHOP_ERR_USAGE',
      /xml: Expected string, received number/,
    );
  });

  it('names an xml field longer than 1 MiB', async () => {
    const res = await agent.api('POST', '/v1/vms/import-xml', {
      xml: `<domain>${' '.repeat(1 << 20)}</domain>`,
    });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /xml: String must contain at most 1048576/);
  });

  it('refuses a body over the 4 MiB limit with 413 VMHOP_ERR_REQUEST_TOO_LARGE', async () => {
    const res = await agent.api('POST', '/v1/vms/import-xml', { xml: 'x'.repeat(5 << 20) });
    expectApiError(res, 413, 'VMHOP_ERR_REQUEST_TOO_LARGE', /too large/i);
  });

  it('names an action option of the wrong type', async () => {
    expect((await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') })).status).toBe(201);
    const res = await agent.api('POST', '/v1/vms/web1/shutdown', { timeoutMs: 5 });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /timeoutMs: Number must be greater than or equal to 1000/);
  });

  it('names a console byte count out of range', async () => {
    expect((await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') })).status).toBe(201);
    expectApiError(await agent.api('GET', '/v1/vms/web1/console?bytes=0'), 400, 'VMHOP_ERR_USAGE', /bytes: /);
    expectApiError(
      await agent.api('GET', '/v1/vms/web1/console?bytes=lots'),
      400,
      'VMHOP_ERR_USAGE',
      /bytes: /,
    );
  });
});
