// A VM's graphical console: POST /v1/vms/:name/vnc/ticket (authenticated like every client
// route) issues a single-use ticket; GET /v1/vms/:name/vnc?ticket= upgrades to a WebSocket
// that carries the RFB stream of the VM's VNC unix socket (argv.ts) both ways, for noVNC.
// The ticket stands in for the Authorization header a browser cannot put on a WebSocket.
// Bounded: frames (maxPayload), consoles per agent, buffered output; closes when the VM stops.
import { connect, type Socket } from 'node:net';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { VmhopError } from '../../../protocol/errors.js';
import { VM_NAME } from '../../../protocol/vm-spec.js';
import type { VmState } from '../../../protocol/vm.js';
import type { AgentServices } from '../../services.js';
import { runFiles } from '../../vm/argv.js';
import { whoOf } from '../auth.js';
import { VncTickets, type VncTicket } from '../../console/vnc-tickets.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route authenticates by a console ticket in its query, not by a bearer token. */
    ticketAuth?: boolean;
  }
}

/** Client-to-VM RFB messages are small (keys, pointer, clipboard); a bigger frame is refused. */
const MAX_FRAME_BYTES = 1 << 20;
/** Output the browser has not taken yet; above it the VNC socket is paused. */
const MAX_BUFFERED_BYTES = 8 << 20;
const MAX_CONSOLES = 16;
const LIVE: readonly VmState[] = ['running', 'paused', 'migrating'];

const Name = z.object({ name: z.string().regex(VM_NAME, 'not a valid VM name') });
const Ticket = z.object({ ticket: z.string(), expiresInMs: z.number().int(), vm: z.string() });

/** The VM exists, has a VNC display and a running QEMU; else the console is refused with why. */
function assertConsoleable(s: AgentServices, vm: string): void {
  const row = s.vms.get(vm);
  if (!row.spec.vnc) {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `VM \`${vm}\` has no graphical console: its spec has vnc: false (define it with vnc: true, then start it again); its serial console is GET /v1/vms/${vm}/console`,
      { vm },
    );
  }
  if (!LIVE.includes(row.state)) {
    throw new VmhopError('VMHOP_ERR_VM_STATE', `VM \`${vm}\` is ${row.state}: start it to open its console`, {
      vm,
      state: row.state,
    });
  }
}

/** Pipes the WebSocket and the VNC socket into each other until either ends or the VM stops. */
function bridge(s: AgentServices, ws: WebSocket, vnc: Socket, vm: string, done: () => void): void {
  let buffered = 0;
  let closed = false;
  const close = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    unsubscribe();
    vnc.destroy();
    ws.close(code, reason);
    done();
  };
  const unsubscribe = s.events.subscribe((e) => {
    if (e.type === 'vm.state' && e.vm === vm && !LIVE.includes(e.state)) close(1000, `the VM is ${e.state}`);
  });
  vnc.on('data', (chunk: Buffer) => {
    buffered += chunk.length;
    if (buffered > MAX_BUFFERED_BYTES) vnc.pause();
    ws.send(chunk, { binary: true }, () => {
      buffered -= chunk.length;
      if (buffered <= MAX_BUFFERED_BYTES && vnc.isPaused()) vnc.resume();
    });
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return close(1003, 'binary frames only (RFB)');
    if (!vnc.write(data)) ws.pause();
  });
  vnc.on('drain', () => ws.resume());
  vnc.on('close', () => close(1000, 'the VM closed its display'));
  vnc.on('error', (e) => close(1011, `VNC socket: ${e.message}`.slice(0, 120)));
  ws.on('close', () => close(1000, 'client closed'));
  ws.on('error', () => close(1011, 'websocket error'));
}

export const vncRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    await app0.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
    const app = app0.withTypeProvider<ZodTypeProvider>();
    const tickets = new VncTickets();
    let open = 0;

    app.post(
      '/v1/vms/:name/vnc/ticket',
      { config: { audit: 'vm.console' }, schema: { params: Name, response: { 200: Ticket } } },
      async (req) => {
        const vm = req.params.name;
        assertConsoleable(s, vm);
        const t = tickets.issue(vm, whoOf(req.principal)?.who ?? '-');
        return { ticket: t.ticket, expiresInMs: t.expiresAt - Date.now(), vm };
      },
    );

    const taken = new WeakMap<FastifyRequest, VncTicket>();
    app.get(
      '/v1/vms/:name/vnc',
      {
        websocket: true,
        config: { ticketAuth: true },
        schema: { params: Name, querystring: z.object({ ticket: z.string().max(200).optional() }) },
        // Before the upgrade, so a refusal is a plain HTTP 401/404/409 with the error body.
        preValidation: async (req) => {
          const { name } = req.params as { name: string };
          const t = tickets.take((req.query as { ticket?: string }).ticket, name);
          assertConsoleable(s, name);
          if (open >= MAX_CONSOLES) {
            throw new VmhopError(
              'VMHOP_ERR_VM_STATE',
              `${MAX_CONSOLES} consoles are open on this agent: close one first`,
              {
                open,
              },
            );
          }
          taken.set(req, t);
        },
      },
      (socket: WebSocket, req) => {
        const vm = req.params.name;
        req.log.info({ vm, who: taken.get(req)?.who }, 'vnc console opened');
        open++;
        const vnc = connect(runFiles(s.vms.runDirOf(vm)).vnc);
        bridge(s, socket, vnc, vm, () => {
          open--;
          req.log.info({ vm }, 'vnc console closed');
        });
      },
    );
  };
