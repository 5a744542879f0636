// `vmhop vol-copy` between two in-process agents (no QEMU process: qemu-img and qemu-io on real
// files, the copy over the target's real data listener): the job is filed under POOL/VOL, the
// bytes arrive whole, and what admission refuses leaves no job behind.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clusterCerts } from './helpers/peer-tls.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { TestAgent } from './helpers/test-agent.js';

let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

let certDir: string | undefined;
afterAll(async () => {
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

/** Two agents with certificates of one CA: the data listener takes only mutual TLS. */
async function pair(): Promise<{ a: TestAgent; b: TestAgent }> {
  certDir ??= await mkdtemp(join(tmpdir(), 'vmhop-volcopy-ca-'));
  const certs = await clusterCerts(certDir, ['a', 'b']);
  const a = await TestAgent.start({ name: 'a', tls: certs.a });
  agents.push(a);
  const b = await TestAgent.start({ name: 'b', tls: certs.b });
  agents.push(b);
  a.services.attachPeer(new DirectPeerLink('b', b.services));
  b.services.attachPeer(new DirectPeerLink('a', a.services));
  return { a, b };
}

/** A 32 MiB qcow2 volume in a's default pool with 3 MiB of a pattern written at 1 MiB. */
async function writtenVolume(a: TestAgent, name: string): Promise<string> {
  const vol = await a.createVolume(name, 32 * 1024 * 1024);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 3M', vol.path as string], {
    stdio: 'ignore',
  });
  return vol.path as string;
}

describe('vol-copy on two engines', () => {
  it('copies one volume as a job named POOL/VOL; the target has the same bytes', async () => {
    const { a, b } = await pair();
    const path = await writtenVolume(a, 'data.qcow2');
    const res = await a.api('POST', '/v1/volumes/copy', { pool: 'default', volume: 'data.qcow2', to: 'b' });
    expect(res.status, res.text).toBe(202);
    expect(res.body.vm).toBe('default/data.qcow2');
    const job = await a.services.engine.wait(res.body.id as string);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    const there = await b.api('GET', '/v1/pools/default/volumes/data.qcow2');
    expect(there.status, there.text).toBe(200);
    // qemu-img compare exits 0 only when the guest-visible contents are identical.
    execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', path, there.body.path as string]);
    expect(a.services.engine.currentFor('default/data.qcow2')?.state).toBe('completed');
  });

  it('refuses an unknown peer and a missing volume before a job exists', async () => {
    const { a } = await pair();
    await writtenVolume(a, 'data.qcow2');
    const unknown = await a.api('POST', '/v1/volumes/copy', {
      pool: 'default',
      volume: 'data.qcow2',
      to: 'zz',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('VMHOP_ERR_PEER_UNKNOWN');
    const missing = await a.api('POST', '/v1/volumes/copy', {
      pool: 'default',
      volume: 'nope.qcow2',
      to: 'b',
    });
    expect(missing.body.error.code).toBe('VMHOP_ERR_VOLUME_NOT_FOUND');
    expect(a.services.jobStore.list()).toEqual([]);
  });

  it('never overwrites a volume of the same name on the target (F29)', async () => {
    const { a, b } = await pair();
    await writtenVolume(a, 'data.qcow2');
    const theirs = await b.createVolume('data.qcow2', 16 * 1024 * 1024);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x11 0 1M', theirs.path as string], {
      stdio: 'ignore',
    });
    const res = await a.api('POST', '/v1/volumes/copy', { pool: 'default', volume: 'data.qcow2', to: 'b' });
    const job = res.status === 202 ? await a.services.engine.wait(res.body.id as string) : undefined;
    expect(job?.state).toBe('failed');
    expect(job?.report?.error?.code).toBe('VMHOP_ERR_VOLUME_EXISTS');
    expect(job?.report?.error?.message).toMatch(
      /already exists on `b`: delete it there, or pick another pool/,
    );
    const after = await b.api('GET', '/v1/pools/default/volumes/data.qcow2');
    expect(after.body.virtualSizeBytes).toBe(16 * 1024 * 1024);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x11 0 1M', theirs.path as string], {
      stdio: 'ignore',
    });
  });
});
