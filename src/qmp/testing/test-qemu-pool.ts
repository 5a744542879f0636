// The QEMUs and QMP sessions of one integration test file, in one temp dir: start and connect
// them, and in afterEach close every session and kill every QEMU this pool started (and only
// those), whether the test passed or not.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationStatus } from '../commands/migration-types.js';
import type { QmpEvent } from '../events.js';
import { QmpSession, type QmpConnectOptions } from '../session.js';
import { startTestQemu, type TestQemu, type TestQemuOptions } from './test-qemu.js';

export class TestQemuPool {
  private readonly started: TestQemu[] = [];
  private readonly sessions: QmpSession[] = [];
  private dirPath: string | undefined;

  /** The pool's temp dir, created on first use (or the fixed one given); `binary` for every QEMU it starts. */
  constructor(
    private readonly fixedDir?: string,
    private readonly binary?: string,
  ) {}

  get dir(): string {
    this.dirPath ??= this.fixedDir ?? mkdtempSync(join(tmpdir(), 'vmhop-qmp-it-'));
    return this.dirPath;
  }

  start(options: TestQemuOptions = {}): TestQemu {
    const instance = startTestQemu({
      dir: this.dir,
      ...(this.binary ? { binary: this.binary } : {}),
      ...options,
    });
    this.started.push(instance);
    return instance;
  }

  async connect(instance: TestQemu, options: QmpConnectOptions = {}): Promise<QmpSession> {
    const session = await QmpSession.connect(instance.qmpPath, { timeoutMs: 10_000, ...options });
    this.sessions.push(session);
    return session;
  }

  /** For afterEach: closes the sessions and kills the QEMUs of the test that just ran. */
  async stopAll(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((session) => session.close()));
    await Promise.all(this.started.splice(0).map((instance) => instance.stop()));
  }

  /** For afterAll: also removes the temp dir. */
  async dispose(): Promise<void> {
    await this.stopAll();
    if (this.dirPath) rmSync(this.dirPath, { recursive: true, force: true });
    this.dirPath = undefined;
  }
}

/** The next MIGRATION event with this status (needs the `events` capability). Create it before `migrate`. */
export function migrationReaches(
  session: QmpSession,
  status: MigrationStatus,
  timeoutMs = 15_000,
): Promise<QmpEvent<'MIGRATION'>> {
  return session.waitEvent('MIGRATION', (event) => event.data.status === status, { timeoutMs });
}
