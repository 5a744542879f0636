// /v1/pools through inject() (virsh pool-list, pool-define, pool-info, pool-undefine): dir
// and shared pools, and every refusal with its code and a message naming the value. A
// refused definition leaves the pool list as it was.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PoolInfo } from '../../src/protocol/storage.js';
import { expectApiError, quoted } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
let scratch: string;
beforeEach(async () => {
  agent = await TestAgent.start();
  scratch = await mkdtemp(join(tmpdir(), 'vmhop-api-pools-'));
});
afterEach(async () => {
  await agent.close();
  await rm(scratch, { recursive: true, force: true });
});

async function poolNames(): Promise<string[]> {
  const res = await agent.api<{ pools: { name: string }[] }>('GET', '/v1/pools');
  return res.body.pools.map((p) => p.name);
}

describe('GET /v1/pools', () => {
  it('lists the default pool with its space and no problems', async () => {
    const res = await agent.api('GET', '/v1/pools');
    expect(res.status).toBe(200);
    expect(res.body.problems).toEqual([]);
    const [pool] = res.body.pools as unknown[];
    expect(PoolInfo.strict().parse(pool)).toMatchObject({ name: 'default', kind: 'dir', volumeCount: 0 });
  });
});

describe('POST /v1/pools', () => {
  it('defines a dir pool on an existing directory (201), which then lists and answers pool-info', async () => {
    const res = await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path: scratch });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'fast', kind: 'dir', path: scratch, volumeCount: 0 });
    expect(res.body.markerId).toBeUndefined();
    expect(await poolNames()).toEqual(['default', 'fast']);
    expect((await agent.api('GET', '/v1/pools/fast')).body).toMatchObject({ name: 'fast', path: scratch });
  });

  it('gives a shared pool the id of the marker it writes into the directory', async () => {
    const res = await agent.api('POST', '/v1/pools', { name: 'nfs', kind: 'shared', path: scratch });
    expect(res.status).toBe(201);
    const marker = JSON.parse(readFileSync(join(scratch, '.vmhop-pool'), 'utf8')) as { id: string };
    expect(res.body).toMatchObject({ name: 'nfs', kind: 'shared', markerId: marker.id });
    expect((await agent.api('GET', '/v1/pools/nfs')).body.markerId).toBe(marker.id);
  });

  it('adopts the marker a shared directory already has', async () => {
    const id = '6f1c1b9e-3c1a-4d55-9a57-0c6c2f8d8e11';
    writeFileSync(join(scratch, '.vmhop-pool'), JSON.stringify({ id, createdAt: '2024-01-01T00:00:00Z' }));
    const res = await agent.api('POST', '/v1/pools', { name: 'nfs', kind: 'shared', path: scratch });
    expect(res.status).toBe(201);
    expect(res.body.markerId).toBe(id);
  });

  it('refuses a path that does not exist with 400 VMHOP_ERR_POOL_INVALID naming it, and creates nothing', async () => {
    const path = join(scratch, 'missing');
    const res = await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', quoted(path), quoted('fast'), /does not exist/);
    expect(existsSync(path)).toBe(false);
    expect(await poolNames()).toEqual(['default']);
  });

  it('refuses a path that is a file with 400 VMHOP_ERR_POOL_INVALID', async () => {
    const path = join(scratch, 'file');
    writeFileSync(path, '');
    const res = await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', quoted(path), /is not a directory/);
    expect(await poolNames()).toEqual(['default']);
  });

  it('refuses a definition without a path with 400 VMHOP_ERR_POOL_INVALID naming the field', async () => {
    const res = await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir' });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', /path: Required/);
    expect(await poolNames()).toEqual(['default']);
  });

  it('refuses a relative path with 400 VMHOP_ERR_POOL_INVALID', async () => {
    const res = await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path: 'images' });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', /path: pool path must be absolute/);
    expect(await poolNames()).toEqual(['default']);
  });

  it("refuses a second pool on the default pool's directory with 400 VMHOP_ERR_POOL_INVALID naming that pool", async () => {
    const res = await agent.api('POST', '/v1/pools', {
      name: 'again',
      kind: 'dir',
      path: agent.defaultPoolDir,
    });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', /already pool `default`/);
    expect(await poolNames()).toEqual(['default']);
  });

  it('refuses a pool name that exists with 409 VMHOP_ERR_POOL_EXISTS naming it', async () => {
    const res = await agent.api('POST', '/v1/pools', { name: 'default', kind: 'dir', path: scratch });
    expectApiError(res, 409, 'VMHOP_ERR_POOL_EXISTS', quoted('default'));
    expect((await agent.api('GET', '/v1/pools/default')).body.path).toBe(agent.defaultPoolDir);
  });

  it('refuses a shared pool on a missing directory and writes no marker', async () => {
    const path = join(scratch, 'not-mounted');
    const res = await agent.api('POST', '/v1/pools', { name: 'nfs', kind: 'shared', path });
    expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', quoted(path));
    expect(existsSync(path)).toBe(false);
  });
});

describe('GET /v1/pools/:pool', () => {
  it('answers an unknown pool with 404 VMHOP_ERR_POOL_NOT_FOUND naming it and the pools here', async () => {
    const res = await agent.api('GET', '/v1/pools/fast');
    const err = expectApiError(res, 404, 'VMHOP_ERR_POOL_NOT_FOUND', quoted('fast'), /pools here: `default`/);
    expect(err.details).toEqual({ pool: 'fast', known: ['default'] });
  });

  it('answers a pool name that cannot be one with 400 VMHOP_ERR_USAGE', async () => {
    expectApiError(
      await agent.api('GET', '/v1/pools/-x'),
      400,
      'VMHOP_ERR_USAGE',
      /pool: not a valid pool name/,
    );
  });

  it('answers a pool whose directory went away with 400 VMHOP_ERR_POOL_INVALID naming it', async () => {
    const path = join(scratch, 'gone');
    await mkdir(path);
    expect((await agent.api('POST', '/v1/pools', { name: 'gone', kind: 'dir', path })).status).toBe(201);
    await rm(path, { recursive: true });
    expectApiError(
      await agent.api('GET', '/v1/pools/gone'),
      400,
      'VMHOP_ERR_POOL_INVALID',
      quoted(path),
      /is missing/,
    );
    const list = await agent.api('GET', '/v1/pools');
    expect(list.status).toBe(200);
    expect(list.body.problems).toEqual([
      expect.objectContaining({ pool: 'gone', code: 'VMHOP_ERR_POOL_INVALID' }),
    ]);
  });
});

describe('DELETE /v1/pools/:pool', () => {
  it('forgets an empty pool and leaves its directory', async () => {
    expect((await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path: scratch })).status).toBe(
      201,
    );
    expect((await agent.api('DELETE', '/v1/pools/fast')).body).toEqual({ ok: true });
    expect(await poolNames()).toEqual(['default']);
    expect(existsSync(scratch)).toBe(true);
  });

  it('answers an unknown pool with 404 VMHOP_ERR_POOL_NOT_FOUND', async () => {
    expectApiError(
      await agent.api('DELETE', '/v1/pools/fast'),
      404,
      'VMHOP_ERR_POOL_NOT_FOUND',
      quoted('fast'),
    );
  });

  it('refuses a pool that holds volumes with 409 VMHOP_ERR_POOL_IN_USE naming them', async () => {
    await agent.createVolume('d0.qcow2');
    const res = await agent.api('DELETE', '/v1/pools/default');
    expectApiError(res, 409, 'VMHOP_ERR_POOL_IN_USE', quoted('default'), quoted('d0.qcow2'));
    expect(await poolNames()).toEqual(['default']);
  });

  it('forgets a pool that holds volumes with ?force=true, and the files stay', async () => {
    await agent.createVolume('d0.qcow2');
    expect((await agent.api('DELETE', '/v1/pools/default?force=true')).status).toBe(200);
    expect(await poolNames()).toEqual([]);
    expect(agent.defaultPoolFiles()).toEqual(['d0.qcow2']);
  });

  it('refuses a pool that holds volumes with ?force=false', async () => {
    await agent.createVolume('d0.qcow2');
    expectApiError(await agent.api('DELETE', '/v1/pools/default?force=false'), 409, 'VMHOP_ERR_POOL_IN_USE');
    expect(await poolNames()).toEqual(['default']);
  });

  it('refuses, even with ?force=true, a pool where a defined VM has a disk', async () => {
    await agent.createVolume('d0.qcow2');
    const spec = kernelVm('web1', { disks: [{ target: 'vda', pool: 'default', volume: 'd0.qcow2' }] });
    expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    expectApiError(
      await agent.api('DELETE', '/v1/pools/default?force=true'),
      409,
      'VMHOP_ERR_POOL_IN_USE',
      quoted('web1'),
    );
    expect(await poolNames()).toEqual(['default']);
  });
});
