// The graphical console route against real QEMU (TCG) with vnc: true: a ticket from the
// authenticated POST opens a WebSocket that carries the VM's RFB stream (QEMU's greeting
// arrives), and an upgrade without a ticket, with a used one or with another VM's is refused
// before any upgrade, as is a VM without VNC. The console closes when the VM stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const guest = testGuest();

/** Resolves with the first message of an opened console, or rejects with the refusal's status. */
function openConsole(url: string): Promise<{ ws: WebSocket; first: Buffer }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })),
      );
    });
    ws.once('message', (data: Buffer) => resolve({ ws, first: data }));
    ws.once('error', reject);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );

describe.skipIf(!guest)('the VNC console route (real QEMU with vnc: true)', () => {
  let agent: TestAgent;
  let base: string;
  const ticket = async (vm: string) => {
    const r = await agent.api('POST', `/v1/vms/${vm}/vnc/ticket`, {});
    expect(r.status, r.text).toBe(200);
    return r.body.ticket as string;
  };
  const wsUrl = (vm: string, t?: string) =>
    `${base.replace('http', 'ws')}/v1/vms/${vm}/vnc${t ? `?ticket=${t}` : ''}`;

  beforeAll(async () => {
    agent = await TestAgent.start();
    const boot = {
      kind: 'kernel' as const,
      kernel: guest!.kernel,
      initrd: guest!.initrd,
      cmdline: 'console=ttyS0 quiet',
    };
    for (const [name, vnc] of [
      ['g1', true],
      ['g2', true],
      ['plain', false],
    ] as const) {
      const spec = kernelVm(name, { memoryMiB: 128, boot, vnc });
      expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    }
    for (const name of ['g1', 'g2', 'plain']) {
      const r = await agent.api('POST', `/v1/vms/${name}/start`, {});
      expect(r.status, r.text).toBe(200);
    }
    base = await agent.listen();
  });
  afterAll(async () => {
    await agent?.close();
  });

  it("carries the VM's RFB stream over a WebSocket opened with a ticket, and refuses the ticket a second time", async () => {
    const t = await ticket('g1');
    const { ws, first } = await openConsole(wsUrl('g1', t));
    expect(first.toString('latin1')).toMatch(/^RFB 003\.00\d\n/);
    ws.close();
    await expect(openConsole(wsUrl('g1', t))).rejects.toMatchObject({ status: 401 });
  });

  it('refuses an upgrade without a ticket, with a made-up one and with a ticket for another VM', async () => {
    await expect(openConsole(wsUrl('g1'))).rejects.toMatchObject({
      status: 401,
      body: expect.stringContaining('VMHOP_ERR_AUTH_INVALID'),
    });
    await expect(openConsole(wsUrl('g1', 'x'.repeat(43)))).rejects.toMatchObject({ status: 401 });
    const forG2 = await ticket('g2');
    await expect(openConsole(wsUrl('g1', forG2))).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a bearer token in place of a ticket on the upgrade', async () => {
    const ws = new WebSocket(wsUrl('g1'), { headers: { authorization: 'Bearer secret' } });
    const status = await new Promise<number>((r) =>
      ws.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it('issues no ticket without a token, nor for a VM without VNC', async () => {
    expect((await agent.raw({ method: 'POST', url: '/v1/vms/g1/vnc/ticket', payload: {} })).status).toBe(401);
    const r = await agent.api('POST', '/v1/vms/plain/vnc/ticket', {});
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain('vnc: false');
  });

  it('closes the console when the VM stops', async () => {
    const { ws } = await openConsole(wsUrl('g2', await ticket('g2')));
    const end = closed(ws);
    expect((await agent.api('POST', '/v1/vms/g2/destroy', {})).status).toBe(200);
    expect((await end).code).toBe(1000);
    const r = await agent.api('POST', '/v1/vms/g2/vnc/ticket', {});
    expect(r.status).toBe(409);
  });
});
