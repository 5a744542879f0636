// A strict fake QMP monitor for unit tests: a real unix socket that greets, negotiates
// capabilities, and answers the expected commands in order with replies and events (normally
// taken from transcripts of real QEMU 7.2). An unexpected command or wrong arguments is recorded
// and answered with an error; assertDone() fails the test on those and on unused expectations.
// Faults: drop the connection, send garbage or an over-long line, delay, hold and reorder replies.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { QmpArguments } from '../errors.js';
import type { QmpGreeting, QmpWireCommand, QmpWireError, QmpWireEvent } from '../messages.js';
import {
  loadTranscript,
  recordedGreeting,
  transcriptVersions,
  type TranscriptVersion,
} from './transcript.js';

export type FakeReply = { return: unknown } | { error: QmpWireError };

export type FakeQmpFault =
  | { kind: 'drop' }
  | { kind: 'no-reply' }
  | { kind: 'garbage'; text?: string }
  | { kind: 'over-long-line'; bytes: number }
  | { kind: 'unknown-id' };

export interface FakeQmpExpectation {
  execute: string;
  /** Deep-equal match; left out means the command must come without arguments. */
  arguments?: QmpArguments | ((args: QmpArguments | undefined) => boolean);
  /** Defaults to `{ return: {} }`. */
  reply?: FakeReply;
  eventsBefore?: QmpWireEvent[];
  eventsAfter?: QmpWireEvent[];
  delayMs?: number;
  /** Keep the reply back until an expectation with `releaseHeld` (or releaseHeld()) sends it. */
  hold?: boolean;
  /** After this reply, send every held reply in the order they were held. */
  releaseHeld?: boolean;
  fault?: FakeQmpFault;
}

export interface FakeQmpServerOptions {
  socketPath?: string;
  /** Defaults to the greeting recorded from QEMU `version`; null: never greet (as when another client holds the monitor). */
  greeting?: QmpGreeting | null;
  /** Which recorded QEMU the default greeting comes from (default: the newest recorded). */
  version?: TranscriptVersion;
  /** 'auto' answers qmp_capabilities itself; 'manual' leaves it to the expectations. */
  negotiation?: 'auto' | 'manual';
}

type CommandListener = { name: string; resolve: (command: QmpWireCommand) => void };

export class FakeQmpServer {
  readonly socketPath: string;
  readonly received: QmpWireCommand[] = [];
  readonly failures: string[] = [];
  private readonly server: Server;
  private readonly ownDir: string | undefined;
  private readonly options: FakeQmpServerOptions;
  private readonly expectations: FakeQmpExpectation[] = [];
  private readonly held: string[] = [];
  private readonly listeners: CommandListener[] = [];
  private client: Socket | undefined;
  private negotiated = false;
  private chain: Promise<void> = Promise.resolve();
  private buffered = '';
  connections = 0;

  static async start(options: FakeQmpServerOptions = {}): Promise<FakeQmpServer> {
    const ownDir = options.socketPath ? undefined : await mkdtemp(join(tmpdir(), 'vmhop-fake-qmp-'));
    const socketPath = options.socketPath ?? join(ownDir as string, 'qmp.sock');
    const fake = new FakeQmpServer(socketPath, ownDir, options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(socketPath, () => resolve());
    });
    return fake;
  }

  private constructor(socketPath: string, ownDir: string | undefined, options: FakeQmpServerOptions) {
    this.socketPath = socketPath;
    this.ownDir = ownDir;
    this.options = options;
    this.negotiated = options.negotiation === 'manual';
    this.server = createServer((socket) => this.accept(socket));
  }

  expect(...expectations: FakeQmpExpectation[]): this {
    this.expectations.push(...expectations);
    return this;
  }

  /** Resolves with the first command named `name` (already received or still to come). */
  waitForCommand(name: string): Promise<QmpWireCommand> {
    const seen = this.received.find((command) => command.execute === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.listeners.push({ name, resolve }));
  }

  sendEvent(event: string, data?: unknown): void {
    const micros = Date.now() * 1000;
    const timestamp = { seconds: Math.floor(micros / 1e6), microseconds: micros % 1e6 };
    this.write(`${JSON.stringify(data === undefined ? { event, timestamp } : { event, data, timestamp })}\n`);
  }

  /** Writes bytes as they are, for framing tests (split lines, several messages in one chunk). */
  sendRaw(chunk: string | Buffer): void {
    this.client?.write(chunk);
  }

  releaseHeld(): void {
    for (const line of this.held.splice(0)) this.write(line);
  }

  dropConnection(): void {
    this.client?.destroy();
  }

  /** Throws if a command was unexpected or an expectation was never used. */
  assertDone(): void {
    const problems = [...this.failures];
    for (const unused of this.expectations) problems.push(`expected command never came: ${unused.execute}`);
    if (problems.length > 0) throw new Error(`fake QMP server:\n  ${problems.join('\n  ')}`);
  }

  async close(): Promise<void> {
    this.client?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownDir) await rm(this.ownDir, { recursive: true, force: true });
  }

  private accept(socket: Socket): void {
    this.connections += 1;
    if (this.client && !this.client.destroyed) {
      this.failures.push('a second client connected while the first was still connected');
      socket.destroy();
      return;
    }
    this.client = socket;
    this.buffered = '';
    this.negotiated = this.options.negotiation === 'manual';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.receive(text));
    socket.on('error', () => {});
    const greeting =
      this.options.greeting === undefined
        ? recordedGreeting(loadTranscript('handshake', this.options.version ?? transcriptVersions.at(-1)!))
        : this.options.greeting;
    if (greeting !== null) this.write(`${JSON.stringify({ QMP: greeting })}\n`);
  }

  private receive(text: string): void {
    this.buffered += text;
    let newline = this.buffered.indexOf('\n');
    while (newline !== -1) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.trim() !== '') this.receiveLine(line);
      newline = this.buffered.indexOf('\n');
    }
  }

  private receiveLine(line: string): void {
    let command: QmpWireCommand;
    try {
      command = JSON.parse(line) as QmpWireCommand;
    } catch {
      this.failures.push(`client sent a line that is not JSON: ${line}`);
      return;
    }
    const oob = (command as { 'exec-oob'?: string })['exec-oob'];
    if (oob !== undefined) {
      // An out-of-band command is answered like any other; `received` keeps the wire form.
      const { 'exec-oob': _verb, ...rest } = command as QmpWireCommand & { 'exec-oob': string };
      this.received.push(command);
      command = { ...rest, execute: oob };
      this.dispatch(command);
      return;
    }
    this.received.push(command);
    this.dispatch(command);
  }

  private dispatch(command: QmpWireCommand): void {
    for (const listener of this.listeners.filter((l) => l.name === command.execute)) {
      this.listeners.splice(this.listeners.indexOf(listener), 1);
      listener.resolve(command);
    }
    this.chain = this.chain.then(() => this.answer(command));
  }

  private async answer(command: QmpWireCommand): Promise<void> {
    if (!this.negotiated) {
      if (command.execute === 'qmp_capabilities') {
        this.negotiated = true;
        this.reply(command, { return: {} });
        return;
      }
      this.failures.push(`${command.execute} sent before qmp_capabilities`);
      const desc = "Expecting capabilities negotiation with 'qmp_capabilities'";
      this.reply(command, { error: { class: 'CommandNotFound', desc } });
      return;
    }
    const expectation = this.expectations[0];
    const mismatch = expectation ? this.mismatch(expectation, command) : 'no more commands expected';
    if (mismatch !== undefined) {
      this.failures.push(`unexpected ${describe(command)}: ${mismatch}`);
      if (expectation?.execute === command.execute) this.expectations.shift();
      const desc = `fake QMP server: unexpected ${describe(command)}`;
      this.reply(command, { error: { class: 'CommandNotFound', desc } });
      return;
    }
    this.expectations.shift();
    await this.perform(expectation as FakeQmpExpectation, command);
  }

  private mismatch(expectation: FakeQmpExpectation, command: QmpWireCommand): string | undefined {
    if (expectation.execute !== command.execute) return `expected ${expectation.execute}`;
    const expected = expectation.arguments;
    if (typeof expected === 'function') return expected(command.arguments) ? undefined : 'arguments rejected';
    const actual = command.arguments ?? undefined;
    const same = expected === undefined ? actual === undefined : isDeepStrictEqual(actual, expected);
    return same ? undefined : `expected arguments ${JSON.stringify(expected)}`;
  }

  private async perform(expectation: FakeQmpExpectation, command: QmpWireCommand): Promise<void> {
    if (expectation.delayMs) await new Promise((resolve) => setTimeout(resolve, expectation.delayMs));
    for (const event of expectation.eventsBefore ?? []) this.write(`${JSON.stringify(event)}\n`);
    if (expectation.fault && this.injectFault(expectation.fault, command)) return;
    const line = replyLine(command, expectation.reply ?? { return: {} });
    if (expectation.hold) this.held.push(line);
    else this.write(line);
    if (expectation.releaseHeld) this.releaseHeld();
    for (const event of expectation.eventsAfter ?? []) this.write(`${JSON.stringify(event)}\n`);
  }

  /** Returns true when the fault replaces the reply. */
  private injectFault(fault: FakeQmpFault, command: QmpWireCommand): boolean {
    switch (fault.kind) {
      case 'drop':
        this.dropConnection();
        return true;
      case 'no-reply':
        return true;
      case 'garbage':
        this.write(`${fault.text ?? 'this is not JSON'}\n`);
        return true;
      case 'over-long-line':
        this.write(`{"return": "${'x'.repeat(fault.bytes)}"`);
        return true;
      case 'unknown-id':
        this.write(replyLine({ ...command, id: 'never-issued' }, { return: {} }));
        return true;
    }
  }

  private reply(command: QmpWireCommand, reply: FakeReply): void {
    this.write(replyLine(command, reply));
  }

  private write(text: string): void {
    if (this.client && !this.client.destroyed) this.client.write(text);
  }
}

function replyLine(command: QmpWireCommand, reply: FakeReply): string {
  return `${JSON.stringify(command.id === undefined ? reply : { ...reply, id: command.id })}\n`;
}

function describe(command: QmpWireCommand): string {
  const args = command.arguments === undefined ? '' : ` ${JSON.stringify(command.arguments)}`;
  return `command ${command.execute}${args}`;
}
