// Source: the undo list of one job before its commit (libvirt's qemuMigrationSrc cleanup, kept as
// data). Each step that changes something registers its undo BEFORE it acts, so a step cut off
// half-way (a timed-out command QEMU still carried out) is undone too. Rollback runs every undo in
// reverse order, never stops at a failure, and journals each failure with its QMP details; the
// job's error stays the failure that caused the rollback. It does not know what the steps are.
import { isVmhopError, VmhopError } from '../../../protocol/errors.js';
import { fromQmp } from '../../../qmp/as-vmhop-error.js';
import { isQmpError } from '../../../qmp/index.js';

/** An undo may resolve with notes for the journal (what it could not finish at once, and why). */
export type Undo = (cause: Error) => Promise<unknown>;

export interface UndoFailure {
  step: string;
  error: VmhopError;
}

export interface UndoEntry {
  /** The step finished its own undoing (e.g. the mirrors ended at the pause): nothing is left to undo. */
  drop(): void;
  /** Runs this undo now, out of order (recorded as rollback would), and drops it. */
  runNow(cause: Error): Promise<UndoFailure | undefined>;
}

/** An error as the job's journal and report keep it: QMP failures as VMHOP_ERR_QMP with their details. */
export function asJobError(e: unknown): VmhopError {
  if (isVmhopError(e)) return e;
  return (
    fromQmp(e) ??
    new VmhopError('VMHOP_ERR_MIGRATION_FAILED', e instanceof Error ? e.message : String(e), {}, e)
  );
}

/** One journal line for an error: code, message and its details (for QMP: command, arguments, class, text). */
export function describeError(e: VmhopError): string {
  const details = Object.keys(e.details).length ? ` ${JSON.stringify(e.details)}` : '';
  return `${e.code}: ${e.message}${details}`;
}

/**
 * QEMU's answer that the object an undo removes does not exist: the step never got as far as
 * making it (registered first, failed before acting), so there is nothing to undo.
 */
export function isAlreadyGone(e: unknown): boolean {
  if (!isQmpError(e, 'QMP_COMMAND_FAILED')) return false;
  if (e.errorClass === 'DeviceNotActive' || e.errorClass === 'DeviceNotFound') return true;
  return /not found|Failed to find node/.test(e.desc ?? '');
}

export class UndoList {
  private readonly entries: { step: string; undo: Undo }[] = [];

  constructor(private readonly journal: (entry: string) => void) {}

  /** Registers `undo` for `step`; call it before the step acts. */
  add(step: string, undo: Undo): UndoEntry {
    const entry = { step, undo };
    this.entries.push(entry);
    const drop = () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
    return {
      drop,
      runNow: async (cause) => {
        if (!this.entries.includes(entry)) return undefined;
        drop();
        return this.runOne(entry, cause);
      },
    };
  }

  /** The steps still to undo, oldest first. */
  get steps(): string[] {
    return this.entries.map((e) => e.step);
  }

  /** From here nothing is undone (the target committed, or nobody knows whether it did). */
  forget(why: string): void {
    if (!this.entries.length) return;
    this.journal(`not undone (${why}): ${this.steps.join('; ')}`);
    this.entries.length = 0;
  }

  /** Runs every undo, newest first; resolves with the failures (first one first), all journaled. */
  async run(cause: Error): Promise<UndoFailure[]> {
    const failures: UndoFailure[] = [];
    while (this.entries.length) {
      const failure = await this.runOne(this.entries.pop()!, cause);
      if (failure) failures.push(failure);
    }
    return failures;
  }

  private async runOne(entry: { step: string; undo: Undo }, cause: Error): Promise<UndoFailure | undefined> {
    try {
      const notes = await entry.undo(cause);
      this.journal(`undone: ${entry.step}`);
      if (Array.isArray(notes)) for (const note of notes) this.journal(String(note));
      return undefined;
    } catch (e) {
      const error = asJobError(e);
      this.journal(`undo of "${entry.step}" failed: ${describeError(error)}`);
      return { step: entry.step, error };
    }
  }
}
