// A QMP session with one QEMU monitor: connect (with retry), greeting, `qmp_capabilities`
// negotiation, commands matched to replies by id, per-command timeouts and AbortSignals, and
// events. It does not know individual commands (commands/) or restart QEMU. When the connection
// ends, every pending command is rejected with QMP_DISCONNECTED that keeps its command and
// arguments, and `closed` resolves with the reason.

import { connectUnixSocket } from './connect-unix-socket.js';
import { GreetingWait } from './greeting-wait.js';
import { commandFailed, QmpError, type QmpArguments } from './errors.js';
import { EventHub } from './event-hub.js';
import { EventStream } from './event-stream.js';
import { waitForEvent, type EventPredicate, type WaitEventOptions } from './event-wait.js';
import type { QmpAnyEvent, QmpEvent, QmpEventName } from './events.js';
import { classifyMessage, type QmpGreeting } from './messages.js';
import { PendingCommands } from './pending-commands.js';
import { linePreview, QmpTransport, type QmpTrace } from './transport.js';
import type { Socket } from 'node:net';

export interface QmpConnectOptions {
  /** Deadline for the socket to appear, the greeting and the negotiation together. */
  timeoutMs?: number;
  signal?: AbortSignal;
  retryIntervalMs?: number;
  maxAttempts?: number;
  maxLineBytes?: number;
  /** Timeout for a command that does not pass its own `timeoutMs`. */
  commandTimeoutMs?: number;
  trace?: QmpTrace;
  /**
   * Negotiate out-of-band execution when QEMU offers it (`oob` in the greeting). A command sent
   * with `oob: true` then runs in the monitor's own thread, even while the main loop is blocked
   * (a post-copy target whose vCPU waits for a page that no longer comes). With OOB on, QEMU
   * queues at most 8 in-band commands and drops the rest with a COMMAND_DROPPED event, which
   * rejects the dropped command here.
   */
  oob?: boolean;
}

export interface QmpCommandOptions {
  /** `Infinity` disables the timer for this command (a signal can still end it). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send as `exec-oob` when the session negotiated OOB; in band otherwise (QEMU offers it on every socket monitor). */
  oob?: boolean;
}

/** What the typed command wrappers need: anything that can execute a QMP command. */
export interface QmpExecutor {
  execute<R = unknown>(command: string, args?: QmpArguments, options?: QmpCommandOptions): Promise<R>;
}

export const defaultConnectTimeoutMs = 10_000;
export const defaultCommandTimeoutMs = 30_000;
const defaultRetryIntervalMs = 50;
const defaultMaxAttempts = 200;

export class QmpSession implements QmpExecutor {
  /** Resolves when the connection ends: undefined after close(), else the reason. Never rejects. */
  readonly closed: Promise<QmpError | undefined>;
  readonly socketPath: string;
  private readonly transport: QmpTransport;
  private readonly pending = new PendingCommands();
  private readonly hub = new EventHub();
  private readonly commandTimeoutMs: number;
  private greetingValue: QmpGreeting | undefined;
  private readonly greetingWait: GreetingWait;
  private closeReason: QmpError | undefined;
  private resolveClosed: (reason: QmpError | undefined) => void = () => {};
  private oobEnabled = false;
  private readonly wantOob: boolean;

  static async connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpSession> {
    const timeoutMs = options.timeoutMs ?? defaultConnectTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const socket = await connectUnixSocket(socketPath, {
      deadline,
      signal: options.signal,
      retryIntervalMs: options.retryIntervalMs ?? defaultRetryIntervalMs,
      maxAttempts: options.maxAttempts ?? defaultMaxAttempts,
    });
    const session = new QmpSession(socketPath, socket, options, {
      deadline,
      timeoutMs,
      signal: options.signal,
    });
    try {
      await session.handshake(deadline, options.signal);
    } catch (error) {
      session.transport.destroy();
      throw error;
    }
    return session;
  }

  private constructor(
    socketPath: string,
    socket: Socket,
    options: QmpConnectOptions,
    greeting: ConstructorParameters<typeof GreetingWait>[1],
  ) {
    this.socketPath = socketPath;
    // Armed before the transport exists, so the greeting cannot arrive unobserved.
    this.greetingWait = new GreetingWait(socketPath, greeting);
    this.commandTimeoutMs = options.commandTimeoutMs ?? defaultCommandTimeoutMs;
    this.wantOob = options.oob === true;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.transport = new QmpTransport(
      socket,
      { onMessage: (message, line) => this.receive(message, line), onClose: (reason) => this.end(reason) },
      { maxLineBytes: options.maxLineBytes, trace: options.trace },
    );
  }

  /** The greeting QEMU sent: its version and the capabilities it offered. */
  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new QmpError('QMP_PROTOCOL', 'QMP greeting not received yet');
    return this.greetingValue;
  }

  /** True once QEMU agreed to out-of-band execution on this session. */
  get oob(): boolean {
    return this.oobEnabled;
  }

  get isClosed(): boolean {
    return this.transport.isClosed;
  }

  execute<R = unknown>(command: string, args?: QmpArguments, options: QmpCommandOptions = {}): Promise<R> {
    const details = { command, arguments: args };
    if (this.transport.isClosed) {
      const why = this.closeReason?.message ?? 'the QMP session was closed';
      const cause = this.closeReason;
      return Promise.reject(
        new QmpError('QMP_DISCONNECTED', `QMP ${command} not sent: ${why}`, { ...details, cause }),
      );
    }
    if (options.signal?.aborted) {
      const cause = options.signal.reason as unknown;
      return Promise.reject(
        new QmpError('QMP_ABORTED', `QMP ${command} aborted before sending`, { ...details, cause }),
      );
    }
    // A command given up on stays unanswered inside QEMU; its late reply is recognised by id and dropped.
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    const { id, reply } = this.pending.register(command, args, timeoutMs, options.signal);
    const verb = options.oob && this.oobEnabled ? 'exec-oob' : 'execute';
    this.transport.send(
      args === undefined ? { [verb]: command, id } : { [verb]: command, arguments: args, id },
    );
    return reply as Promise<R>;
  }

  /** Events from now on, all of them or only the named ones. Subscribe before sending the command that causes them. */
  events(options?: { signal?: AbortSignal }): EventStream<QmpAnyEvent>;
  events<N extends QmpEventName>(
    names: readonly N[],
    options?: { signal?: AbortSignal },
  ): EventStream<QmpEvent<N>>;
  events(
    namesOrOptions?: readonly string[] | { signal?: AbortSignal },
    maybeOptions?: { signal?: AbortSignal },
  ): EventStream<QmpAnyEvent> {
    const names = Array.isArray(namesOrOptions) ? new Set<string>(namesOrOptions) : undefined;
    const options = Array.isArray(namesOrOptions)
      ? maybeOptions
      : (namesOrOptions as { signal?: AbortSignal });
    const accepts = (event: QmpAnyEvent): boolean => names === undefined || names.has(event.event);
    return new EventStream(accepts, this.hub.subscribe, options?.signal);
  }

  /**
   * The next `name` event that satisfies `predicate`. The subscription starts when this is called,
   * so create the wait, then send the command, then await the wait.
   */
  waitEvent<N extends QmpEventName>(
    name: N,
    predicate: EventPredicate<N> | undefined,
    options: WaitEventOptions,
  ): Promise<QmpEvent<N>> {
    const wait = waitForEvent(this.hub.subscribe, name, predicate, options);
    // When the triggering command fails the caller never awaits the wait; its later timeout must
    // not surface as an unhandled rejection. Awaiting it still sees the rejection.
    wait.catch(() => {});
    return wait;
  }

  /** Closes the connection; pending commands are rejected with QMP_DISCONNECTED. */
  async close(): Promise<void> {
    this.transport.destroy();
    await this.closed;
  }

  private async handshake(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    this.greetingValue = await this.greetingWait.greeting;
    const oob = this.wantOob && this.greetingValue.capabilities.includes('oob');
    try {
      await this.execute('qmp_capabilities', oob ? { enable: ['oob'] } : undefined, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal,
      });
    } catch (error) {
      if (error instanceof QmpError && error.code === 'QMP_ABORTED') throw error;
      const why = error instanceof Error ? error.message : String(error);
      const message = `QMP capabilities negotiation on ${this.socketPath} failed: ${why}`;
      throw new QmpError('QMP_CONNECT_FAILED', message, { cause: error });
    }
    this.oobEnabled = oob;
  }

  // Violations quote the received line, never JSON.stringify(raw): a hostile monitor's message
  // nested a million deep parses (JSON.parse is iterative) but overflows the stack when serialized.
  private receive(raw: unknown, line: string): void {
    const message = classifyMessage(raw);
    if (this.greetingWait.waiting) {
      if (message.kind === 'greeting') this.greetingWait.receive(message.greeting);
      else this.violation(`expected a QMP greeting, got ${linePreview(line)}`);
      return;
    }
    switch (message.kind) {
      case 'event':
        if (message.event.event === 'COMMAND_DROPPED') this.dropped(message.event.data);
        this.hub.publish(message.event);
        return;
      case 'return':
      case 'error':
        this.receiveReply(message, line);
        return;
      case 'greeting':
        this.violation('a second QMP greeting arrived');
        return;
      case 'unknown':
        this.violation(`${message.reason}: ${linePreview(line)}`);
    }
  }

  private receiveReply(
    message:
      | { kind: 'return'; id: unknown; value: unknown }
      | { kind: 'error'; id: unknown; error: { class: string; desc: string } },
    line: string,
  ): void {
    const entry = this.pending.take(message.id);
    if (entry === undefined) {
      if (this.pending.wasAbandoned(message.id)) return;
      // QEMU answers a line it could not parse with an id-less error; after that nothing pairs reliably.
      this.violation(`QMP reply for an unknown command id: ${linePreview(line)}`);
      return;
    }
    if (message.kind === 'return') entry.resolve(message.value);
    else entry.reject(commandFailed(entry.command, entry.arguments, message.error.class, message.error.desc));
  }

  /** QEMU's in-band queue was full (OOB sessions only): the command will never be answered. */
  private dropped(data: unknown): void {
    const { id, reason } = (data ?? {}) as { id?: unknown; reason?: unknown };
    const entry = this.pending.take(id);
    entry?.reject(
      new QmpError('QMP_COMMAND_FAILED', `QMP ${entry.command} dropped by QEMU (${String(reason)})`, {
        command: entry.command,
        arguments: entry.arguments,
      }),
    );
  }

  private violation(text: string): void {
    this.transport.destroy(
      new QmpError('QMP_PROTOCOL', `QMP protocol violation on ${this.socketPath}: ${text}`),
    );
  }

  private end(reason: QmpError | undefined): void {
    this.closeReason = reason;
    this.greetingWait.connectionEnded(reason);
    const why = reason?.message ?? 'the QMP session was closed';
    this.pending.rejectAll(
      (entry) =>
        new QmpError('QMP_DISCONNECTED', `QMP ${entry.command} failed: ${why}`, {
          command: entry.command,
          arguments: entry.arguments,
          cause: reason,
        }),
    );
    this.hub.end(reason);
    this.resolveClosed(reason);
  }
}
