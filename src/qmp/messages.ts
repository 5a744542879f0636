// The shapes of QMP wire messages (greeting, command, reply, event) and the one function that
// classifies a parsed line. It does not know any particular command or event; those live in
// commands/ and events.ts. Unknown shapes are reported, not guessed, so a socket that is not a
// QMP monitor (an HMP or guest-agent socket, say) fails loudly.

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** The first line QEMU sends: `{"QMP": {"version": ..., "capabilities": ["oob"]}}`. */
export interface QmpGreeting {
  version: QmpVersion;
  capabilities: string[];
}

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** An event's timestamp (the QEMU host's wall clock) in milliseconds since the epoch, as Date.now(). */
export function timestampMs(t: QmpTimestamp): number {
  return t.seconds * 1_000 + Math.floor(t.microseconds / 1_000);
}

export interface QmpWireEvent {
  event: string;
  data?: unknown;
  timestamp: QmpTimestamp;
}

export interface QmpWireError {
  class: string;
  desc: string;
}

export type QmpWireReply = { id?: unknown; return: unknown } | { id?: unknown; error: QmpWireError };

export interface QmpWireCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

export type QmpMessage =
  | { kind: 'greeting'; greeting: QmpGreeting }
  | { kind: 'return'; id: unknown; value: unknown }
  | { kind: 'error'; id: unknown; error: QmpWireError }
  | { kind: 'event'; event: QmpWireEvent }
  | { kind: 'unknown'; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function classifyGreeting(body: unknown): QmpMessage {
  if (!isObject(body) || !isObject(body['version']) || !Array.isArray(body['capabilities'])) {
    return { kind: 'unknown', reason: 'greeting without version and capabilities' };
  }
  const version = body['version'];
  if (!isObject(version['qemu']) || typeof version['qemu']['major'] !== 'number') {
    return { kind: 'unknown', reason: 'greeting without a QEMU version' };
  }
  return { kind: 'greeting', greeting: body as unknown as QmpGreeting };
}

function classifyError(message: Record<string, unknown>): QmpMessage {
  const error = message['error'];
  if (!isObject(error) || typeof error['class'] !== 'string' || typeof error['desc'] !== 'string') {
    return { kind: 'unknown', reason: 'error reply without class and desc' };
  }
  return { kind: 'error', id: message['id'], error: { class: error['class'], desc: error['desc'] } };
}

export function classifyMessage(message: unknown): QmpMessage {
  if (!isObject(message)) return { kind: 'unknown', reason: 'not a JSON object' };
  if ('QMP' in message) return classifyGreeting(message['QMP']);
  if ('return' in message) return { kind: 'return', id: message['id'], value: message['return'] };
  if ('error' in message) return classifyError(message);
  if (typeof message['event'] === 'string' && isObject(message['timestamp'])) {
    return { kind: 'event', event: message as unknown as QmpWireEvent };
  }
  return { kind: 'unknown', reason: 'neither greeting, reply nor event' };
}
