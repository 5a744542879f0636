// One QMP monitor of the fake QEMU on a unix socket, framed and negotiated as QEMU 10.0.2 does:
// one client at a time (the next waits in the backlog until the first leaves, then gets its
// greeting), the recorded greeting, qmp_capabilities (optionally enabling oob) before anything
// else, every command checked by qmp-check.ts, replies in order, events only to a negotiated client.
import { createServer, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { QmpWireCommand, QmpWireError } from '../../src/qmp/messages.js';
import { loadTranscript, recordedGreeting } from '../../src/qmp/testing/transcript.js';
import { checkCommand } from './qmp-check.js';

export type Reply = { return: unknown } | { error: QmpWireError };
/** Runs a command that passed the checks; may send events before it resolves. */
export type Execute = (execute: string, args: Record<string, unknown>) => Promise<Reply> | Reply;

export const ok: Reply = { return: {} };
export const generic = (desc: string): Reply => ({ error: { class: 'GenericError', desc } });

const greeting = recordedGreeting(loadTranscript('handshake', '10.0'));
/** Commands QEMU 10.0 lets run out of band. */
const OOB_COMMANDS = new Set(['migrate-recover', 'migrate-pause', 'x-oob-test']);

export class Monitor {
  private readonly server: Server;
  private readonly waiting: Socket[] = [];
  private client: Socket | undefined;
  private negotiated = false;
  private oob = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly execute: Execute,
  ) {
    this.server = createServer((s) => {
      s.on('error', () => undefined);
      this.waiting.push(s);
      if (!this.client) this.next();
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => resolve());
    });
  }

  /** Sends `line` (a JSON event) to the negotiated client, if one is connected. */
  event(line: string): void {
    if (this.client && this.negotiated && !this.client.destroyed) this.client.write(line);
  }

  close(): void {
    for (const s of [...this.waiting, ...(this.client ? [this.client] : [])]) s.destroy();
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private next(): void {
    const s = this.waiting.shift();
    this.client = s;
    this.negotiated = false;
    this.oob = false;
    if (!s) return;
    let buffered = '';
    s.setEncoding('utf8');
    s.on('data', (text: string) => {
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.chain = this.chain.then(() => this.line(s, line));
      }
    });
    s.on('close', () => {
      if (this.client === s) this.next();
    });
    s.write(`${JSON.stringify({ QMP: greeting })}\n`);
  }

  private async line(s: Socket, line: string): Promise<void> {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return this.send(s, undefined, {
        error: { class: 'GenericError', desc: 'JSON parse error, expecting value' },
      });
    }
    const id = msg['id'];
    const oobName = msg['exec-oob'];
    const execute = (oobName ?? msg['execute']) as QmpWireCommand['execute'] | undefined;
    if (typeof execute !== 'string')
      return this.send(s, id, { error: { class: 'GenericError', desc: "QMP input lacks member 'execute'" } });
    if (oobName !== undefined && (!this.oob || !OOB_COMMANDS.has(execute))) {
      const desc = this.oob
        ? `The command ${execute} does not support OOB`
        : 'Please enable out-of-band first for the session during capabilities negotiation';
      return this.send(s, id, { error: { class: 'GenericError', desc } });
    }
    if (!this.negotiated && execute !== 'qmp_capabilities') {
      const desc = "Expecting capabilities negotiation with 'qmp_capabilities'";
      return this.send(s, id, { error: { class: 'CommandNotFound', desc } });
    }
    const refusal = checkCommand(execute, msg['arguments']);
    if (refusal) return this.send(s, id, { error: refusal });
    const args = (msg['arguments'] ?? {}) as Record<string, unknown>;
    if (execute === 'qmp_capabilities') return this.send(s, id, this.negotiate(args));
    this.send(s, id, await this.execute(execute, args));
  }

  private negotiate(args: Record<string, unknown>): Reply {
    if (this.negotiated) {
      const desc = 'Capabilities negotiation is already complete, command ignored';
      return { error: { class: 'CommandNotFound', desc } };
    }
    const enable = (args['enable'] ?? []) as unknown[];
    const unknown = enable.find((c) => c !== 'oob');
    if (unknown !== undefined)
      return {
        error: {
          class: 'GenericError',
          desc: `Parameter 'enable' does not accept value '${String(unknown)}'`,
        },
      };
    this.oob = enable.includes('oob');
    this.negotiated = true;
    return { return: {} };
  }

  private send(s: Socket, id: unknown, reply: Reply): void {
    if (!s.destroyed) s.write(`${JSON.stringify(id === undefined ? reply : { ...reply, id })}\n`);
  }
}
