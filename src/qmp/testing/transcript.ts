// Transcripts of real QMP sessions, stored as JSON under test/fixtures/qmp/<major.minor>/ for each
// QEMU recorded (7.2 from Debian 12, 10.0 from bookworm-backports): every line each side sent, in
// order. This module loads them and turns them into what tests need: the
// greeting, the recorded reply of a command, and fake-server expectations that replay the session
// (each command with the events QEMU sent before and after its reply).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { QmpArguments } from '../errors.js';
import type { QmpGreeting, QmpWireCommand, QmpWireEvent } from '../messages.js';
import type { FakeQmpExpectation, FakeReply } from './fake-qmp-server.js';

export interface TranscriptEntry {
  from: 'client' | 'qemu';
  /** Milliseconds since the recording started. */
  atMs: number;
  message: Record<string, unknown>;
}

export interface QmpTranscript {
  name: string;
  description: string;
  qemu: string;
  argv: string[];
  notes?: string[];
  entries: TranscriptEntry[];
}

export interface TranscriptExchange {
  command: QmpWireCommand;
  eventsBefore: QmpWireEvent[];
  reply: FakeReply;
  eventsAfter: QmpWireEvent[];
}

/** The QEMU versions (major.minor) with recorded transcripts; the client tests replay each. */
export const transcriptVersions = ['7.2', '10.0'] as const;
export type TranscriptVersion = (typeof transcriptVersions)[number];

const fixturesDir = fileURLToPath(new URL('../../../test/fixtures/qmp/', import.meta.url));

/** Where the transcripts of QEMU `version` (major.minor) live, with a trailing slash. */
export function transcriptDir(version: string): string {
  return `${fixturesDir}${version}/`;
}

export function loadTranscript(name: string, version: TranscriptVersion): QmpTranscript {
  return JSON.parse(readFileSync(`${transcriptDir(version)}${name}.json`, 'utf8')) as QmpTranscript;
}

export function recordedGreeting(transcript: QmpTranscript): QmpGreeting {
  const first = transcript.entries.find((entry) => entry.from === 'qemu' && 'QMP' in entry.message);
  if (!first) throw new Error(`transcript ${transcript.name} has no greeting`);
  return first.message['QMP'] as QmpGreeting;
}

/** The commands of the session, each with its reply and the events around it; qmp_capabilities included. */
export function transcriptExchanges(transcript: QmpTranscript): TranscriptExchange[] {
  const exchanges: TranscriptExchange[] = [];
  const open = new Map<unknown, TranscriptExchange>();
  for (const { from, message } of transcript.entries) {
    if (from === 'client') {
      const command = message as unknown as QmpWireCommand;
      // The reply is filled in when QEMU's answer with the same id shows up.
      const exchange: TranscriptExchange = {
        command,
        eventsBefore: [],
        reply: { return: undefined },
        eventsAfter: [],
      };
      open.set(command.id, exchange);
      exchanges.push(exchange);
    } else if ('event' in message) {
      const last = exchanges.at(-1);
      if (!last) continue;
      (open.has(last.command.id) ? last.eventsBefore : last.eventsAfter).push(
        message as unknown as QmpWireEvent,
      );
    } else if ('return' in message || 'error' in message) {
      const exchange = open.get(message['id']);
      if (!exchange)
        throw new Error(`transcript ${transcript.name}: reply to unknown id ${String(message['id'])}`);
      open.delete(message['id']);
      const { id: _id, ...reply } = message;
      exchange.reply = reply as FakeReply;
    }
  }
  return exchanges;
}

function matches(command: QmpWireCommand, execute: string, args?: QmpArguments): boolean {
  return (
    command.execute === execute &&
    (args === undefined || JSON.stringify(command.arguments) === JSON.stringify(args))
  );
}

/** The reply QEMU gave to the `occurrence`-th `execute` (optionally with these exact arguments). */
export function recordedReply(
  transcript: QmpTranscript,
  execute: string,
  occurrence = 0,
  args?: QmpArguments,
): FakeReply {
  const found = transcriptExchanges(transcript).filter((exchange) =>
    matches(exchange.command, execute, args),
  );
  const exchange = found[occurrence];
  if (!exchange) throw new Error(`transcript ${transcript.name} has no ${execute} #${occurrence}`);
  return exchange.reply;
}

export function recordedEvents(transcript: QmpTranscript, name?: string): QmpWireEvent[] {
  return transcript.entries
    .filter((entry) => entry.from === 'qemu' && 'event' in entry.message)
    .map((entry) => entry.message as unknown as QmpWireEvent)
    .filter((event) => name === undefined || event.event === name);
}

/** Fake-server expectations that replay the whole session after negotiation, events included. */
export function replayExpectations(transcript: QmpTranscript): FakeQmpExpectation[] {
  return transcriptExchanges(transcript)
    .filter((exchange) => exchange.command.execute !== 'qmp_capabilities')
    .map((exchange) => ({
      execute: exchange.command.execute,
      ...(exchange.command.arguments === undefined ? {} : { arguments: exchange.command.arguments }),
      reply: exchange.reply,
      eventsBefore: exchange.eventsBefore,
      eventsAfter: exchange.eventsAfter,
    }));
}
