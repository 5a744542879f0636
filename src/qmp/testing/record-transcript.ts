// Records a QMP session with real QEMU as a transcript: pass `recorder.trace` to
// QmpSession.connect and every line in and out is kept with its time. Long lists (query-machines,
// query-cpu-definitions) can be trimmed before saving so fixtures stay readable; the transcript
// notes what was trimmed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { QmpSession } from '../session.js';
import type { QmpTrace } from '../transport.js';
import { qemuVersionText, type TestQemu } from './test-qemu.js';
import { transcriptDir, type QmpTranscript, type TranscriptEntry } from './transcript.js';

function parseOrKeep(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { unparsed: line };
  }
}

export class TranscriptRecorder {
  readonly entries: TranscriptEntry[] = [];
  private readonly startedAt = Date.now();
  private readonly notes: string[] = [];

  readonly trace: QmpTrace = (direction, line) => {
    if (line.trim() === '') return;
    this.entries.push({
      from: direction === 'out' ? 'client' : 'qemu',
      atMs: Date.now() - this.startedAt,
      message: parseOrKeep(line),
    });
  };

  /** Replaces the array returned by every `execute` with `keep(array)`, and says so in the notes. */
  trimReturn(execute: string, keep: (items: unknown[]) => unknown[]): void {
    const ids = new Set(
      this.entries
        .filter((e) => e.from === 'client' && e.message['execute'] === execute)
        .map((e) => e.message['id']),
    );
    for (const entry of this.entries) {
      const value = entry.message['return'];
      if (entry.from !== 'qemu' || !ids.has(entry.message['id']) || !Array.isArray(value)) continue;
      const kept = keep(value);
      entry.message = { ...entry.message, return: kept };
      this.notes.push(`${execute} reply trimmed from ${value.length} to ${kept.length} entries`);
    }
  }

  transcript(meta: {
    name: string;
    description: string;
    qemu: string;
    argv: string[];
    notes?: string[];
  }): QmpTranscript {
    const notes = [...(meta.notes ?? []), ...this.notes];
    return { ...meta, ...(notes.length > 0 ? { notes } : {}), entries: this.entries };
  }
}

/** Saves under the directory of the QEMU that was recorded (its major.minor), next to the other versions. */
export function saveTranscript(
  transcript: QmpTranscript,
  dir: string = transcriptDir(recordedVersion(transcript)),
): string {
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${transcript.name}.json`;
  writeFileSync(path, `${JSON.stringify(transcript, null, 2)}\n`);
  return path;
}

function recordedVersion(transcript: QmpTranscript): string {
  const version = /version (\d+\.\d+)\./.exec(transcript.qemu)?.[1];
  if (!version)
    throw new Error(`transcript ${transcript.name}: no QEMU version in ${JSON.stringify(transcript.qemu)}`);
  return version;
}

export interface RecordedSession {
  session: QmpSession;
  recorder: TranscriptRecorder;
  /** Closes the session and saves the transcript under test/fixtures/qmp/<name>.json. */
  save(description: string, notes?: string[]): Promise<string>;
}

/** Connects to a test QEMU with a recorder attached. */
export async function recordSession(name: string, qemu: TestQemu): Promise<RecordedSession> {
  const recorder = new TranscriptRecorder();
  const session = await QmpSession.connect(qemu.qmpPath, { trace: recorder.trace, timeoutMs: 10_000 });
  const save = async (description: string, notes?: string[]): Promise<string> => {
    await session.close();
    const meta = {
      name,
      description,
      qemu: qemuVersionText(qemu.argv[0]),
      argv: qemu.argv,
      ...(notes ? { notes } : {}),
    };
    return saveTranscript(recorder.transcript(meta));
  };
  return { session, recorder, save };
}
