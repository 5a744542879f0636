// VM rows in the registry: the spec as JSON plus the agent's view of its run state and
// QEMU pid. Only the VM service writes here; routes read through that service.
import { VmSpec } from '../../protocol/vm-spec.js';
import type { VmState } from '../../protocol/vm.js';
import type { Db } from './open.js';

export interface VmRow {
  name: string;
  uuid: string;
  spec: VmSpec;
  state: VmState;
  pid: number | null;
  owner: string;
  jobId: string | null;
  createdAt: string;
  updatedAt: string;
}

interface RawRow {
  name: string;
  uuid: string;
  spec: string;
  state: string;
  pid: number | null;
  owner: string;
  job_id: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Stored specs as VmSpec completes them (a row may predate a field and its default), each parsed
 * with zod once per text: zod parsing every spec of every `list` allocated ~15 KiB a VM, garbage
 * that grew an agent with 50 VMs by tens of MiB (issue 14 §4). A row's spec is handed out as a
 * fresh object each time (JSON.parse of the completed text), so callers may still change theirs.
 */
class CompletedSpecs {
  private readonly byName = new Map<string, { stored: string; completed: string }>();

  of(name: string, stored: string): VmSpec {
    let hit = this.byName.get(name);
    if (hit?.stored !== stored) {
      hit = { stored, completed: JSON.stringify(VmSpec.parse(JSON.parse(stored))) };
      this.byName.set(name, hit);
    }
    return JSON.parse(hit.completed) as VmSpec;
  }

  forget(name: string): void {
    this.byName.delete(name);
  }
}

const fromRaw = (r: RawRow, specs: CompletedSpecs): VmRow => ({
  name: r.name,
  uuid: r.uuid,
  spec: specs.of(r.name, r.spec),
  state: r.state as VmState,
  pid: r.pid,
  owner: r.owner,
  jobId: r.job_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class VmStore {
  private readonly specs = new CompletedSpecs();

  constructor(private readonly db: Db) {}

  list(): VmRow[] {
    return (this.db.prepare('SELECT * FROM vms ORDER BY name').all() as RawRow[]).map((r) =>
      fromRaw(r, this.specs),
    );
  }

  get(name: string): VmRow | undefined {
    const r = this.db.prepare('SELECT * FROM vms WHERE name = ?').get(name) as RawRow | undefined;
    return r && fromRaw(r, this.specs);
  }

  byUuid(uuid: string): VmRow | undefined {
    const r = this.db.prepare('SELECT * FROM vms WHERE uuid = ?').get(uuid) as RawRow | undefined;
    return r && fromRaw(r, this.specs);
  }

  insert(spec: VmSpec, state: VmState = 'shutoff', owner = 'local'): VmRow {
    const now = new Date().toISOString();
    this.db
      .prepare(
        'INSERT INTO vms (name, uuid, spec, state, pid, owner, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)',
      )
      .run(spec.name, spec.uuid, JSON.stringify(spec), state, owner, now, now);
    return this.get(spec.name) as VmRow;
  }

  update(name: string, patch: Partial<Pick<VmRow, 'state' | 'pid' | 'owner' | 'jobId' | 'spec'>>): void {
    const cols: string[] = [];
    const vals: unknown[] = [];
    const set = (col: string, v: unknown) => {
      cols.push(`${col} = ?`);
      vals.push(v);
    };
    if (patch.state !== undefined) set('state', patch.state);
    if (patch.pid !== undefined) set('pid', patch.pid);
    if (patch.owner !== undefined) set('owner', patch.owner);
    if (patch.jobId !== undefined) set('job_id', patch.jobId);
    if (patch.spec !== undefined) set('spec', JSON.stringify(patch.spec));
    set('updated_at', new Date().toISOString());
    this.db.prepare(`UPDATE vms SET ${cols.join(', ')} WHERE name = ?`).run(...vals, name);
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM vms WHERE name = ?').run(name);
    this.specs.forget(name);
  }
}
