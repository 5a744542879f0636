// The QMP transport over a connected unix socket: newline framing with a size cap, JSON parsing,
// and one close notification carrying the reason. It knows nothing of ids, commands or events
// (that is session.ts). A line that is not JSON is a protocol violation and drops the connection:
// after it, nothing the peer sends can be trusted to pair with our commands.

import type { Socket } from 'node:net';
import { QmpError } from './errors.js';
import { LineSplitter } from './line-splitter.js';

export type QmpTraceDirection = 'in' | 'out';
/** Sees every line exactly as sent or received; used to log QMP traffic and record transcripts. */
export type QmpTrace = (direction: QmpTraceDirection, line: string) => void;

export interface QmpTransportHandlers {
  /** `line` is the text the message was parsed from: error messages quote it, never re-serialize it. */
  onMessage(message: unknown, line: string): void;
  /** Called once. `reason` is undefined when we closed the connection ourselves. */
  onClose(reason: QmpError | undefined): void;
}

export interface QmpTransportOptions {
  maxLineBytes?: number;
  trace?: QmpTrace;
}

const previewChars = 200;

/** The start of a received line, for error messages: bounded whatever the monitor sent. */
export function linePreview(line: string): string {
  return line.length > previewChars ? `${line.slice(0, previewChars)}...` : line;
}

export class QmpTransport {
  private readonly socket: Socket;
  private readonly splitter: LineSplitter;
  private readonly trace: QmpTrace | undefined;
  private readonly handlers: QmpTransportHandlers;
  private closeReason: QmpError | undefined;
  private closing = false;
  private closed = false;

  constructor(socket: Socket, handlers: QmpTransportHandlers, options: QmpTransportOptions = {}) {
    this.socket = socket;
    this.handlers = handlers;
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.trace = options.trace;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.destroy(new QmpError('QMP_DISCONNECTED', 'QEMU closed the QMP connection')));
    socket.on('error', (error) =>
      this.destroy(new QmpError('QMP_DISCONNECTED', `QMP socket error: ${error.message}`, { cause: error })),
    );
    socket.on('close', () => this.finish());
  }

  get isClosed(): boolean {
    return this.closing || this.closed;
  }

  send(message: object): void {
    if (this.isClosed) throw new QmpError('QMP_DISCONNECTED', 'QMP connection is closed');
    const line = JSON.stringify(message);
    this.traceLine('out', line);
    this.socket.write(`${line}\n`);
  }

  /** Drops the connection; `reason` undefined means a deliberate local close. */
  destroy(reason?: QmpError): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.closing) return;
    let lines: string[];
    try {
      lines = this.splitter.push(chunk);
    } catch (error) {
      this.destroy(error as QmpError);
      return;
    }
    for (const line of lines) {
      if (this.closing) return;
      this.receiveLine(line);
    }
  }

  private receiveLine(line: string): void {
    this.traceLine('in', line);
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.destroy(
        new QmpError('QMP_PROTOCOL', `QMP peer sent a line that is not JSON: ${linePreview(line)}`, {
          cause: error,
        }),
      );
      return;
    }
    try {
      this.handlers.onMessage(message, line);
    } catch (error) {
      // This runs in the socket's data handler: a throw here would end the whole agent, so
      // whatever the monitor sent that the session could not handle ends only this connection.
      const why = error instanceof Error ? error.message : String(error);
      this.destroy(
        new QmpError('QMP_PROTOCOL', `QMP message could not be handled (${why}): ${linePreview(line)}`, {
          cause: error,
        }),
      );
    }
  }

  private traceLine(direction: QmpTraceDirection, line: string): void {
    try {
      this.trace?.(direction, line);
    } catch {
      // A failing logger must not take the QMP connection (and with it the VM's control) down.
    }
  }

  private finish(): void {
    if (this.closed) return;
    if (!this.closing) this.closeReason = new QmpError('QMP_DISCONNECTED', 'QMP connection closed');
    this.closing = true;
    this.closed = true;
    this.handlers.onClose(this.closeReason);
  }
}
