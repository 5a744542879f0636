// The target's listener for a resumed post-copy when QEMU already listens from an earlier
// migrate-recover (an earlier attempt, or the agent before a restart): QEMU refuses a second one
// ("triggered already"), and a new gate is put in front of the listener query-migrate names, so
// the source's next `migrate resume` reaches QEMU through today's admission rules. Fake QMP, a
// real gate, a real unix socket standing in for QEMU's listener.
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { DEFAULT_MIGRATION_PORTS } from '../wire/ports.js';
import { recoverIncoming } from './postcopy-target.js';
import type { RamGate } from './ram-gate.js';

const h = new FakeQmpHarness();
const gates: RamGate[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const g of gates.splice(0)) g.close();
  for (const c of cleanups.splice(0)) await c();
  await h.cleanup();
});

const triggered = {
  execute: 'migrate-recover',
  arguments: () => true,
  reply: {
    error: { class: 'GenericError', desc: 'Migrate recover can only be run when postcopy is paused.' },
  },
};

async function standInListener() {
  const dir = await mkdtemp(join(tmpdir(), 'vmhop-recover-'));
  const path = join(dir, 'recover-old.sock');
  const got: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d: Buffer) => got.push(d)));
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, path, got };
}

const options = (dir: string, notes: string[]) => ({
  address: '127.0.0.1',
  ports: DEFAULT_MIGRATION_PORTS,
  allowed: ['127.0.0.1'],
  tls: false,
  note: (e: string) => notes.push(e),
  socket: join(dir, 'recover-new.sock'),
});

describe('recoverIncoming', () => {
  it('puts a new gate in front of the listener QEMU still has, when it says recovery was triggered already', async () => {
    const old = await standInListener();
    const server = await h.server();
    server.expect(
      {
        ...triggered,
        reply: { error: { class: 'GenericError', desc: 'Migrate recovery is triggered already' } },
      },
      {
        execute: 'query-migrate',
        reply: {
          return: { status: 'postcopy-recover', 'socket-address': [{ type: 'unix', path: old.path }] },
        },
      },
    );
    const notes: string[] = [];
    const listening = new Map<string, number>();
    const reply = await recoverIncoming(
      await h.connect(server),
      options(old.dir, notes),
      listening,
      'j1',
      (g) => gates.push(g),
    );
    expect(reply.address).toBe('127.0.0.1');
    expect(listening.get('j1')).toBe(reply.port);
    expect(notes.join('\n')).toMatch(/QEMU still listens for the resumed stream on .*recover-old\.sock/);
    // The source's resumed stream (a channel magic, no TLS) reaches the old listener through it.
    const sock = net.connect({ host: '127.0.0.1', port: reply.port as number });
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.from('QEVM'));
    for (let i = 0; i < 50 && Buffer.concat(old.got).length < 4; i++)
      await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    expect(Buffer.concat(old.got).toString()).toBe('QEVM');
    server.assertDone();
  });

  it("refuses with QEMU's reason any other migrate-recover error, and opens nothing", async () => {
    const old = await standInListener();
    const server = await h.server();
    server.expect(triggered);
    const listening = new Map<string, number>();
    await expect(
      recoverIncoming(await h.connect(server), options(old.dir, []), listening, 'j1', (g) => gates.push(g)),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message: expect.stringMatching(
        /cannot listen for the resumed post-copy: .*only be run when postcopy is paused/,
      ),
    });
    expect(gates).toHaveLength(0);
    expect(listening.size).toBe(0);
  });
});
