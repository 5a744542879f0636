// Where the storage service reads and records pool definitions. The agent keeps them in its
// SQLite registry; this interface is that boundary (sync, as better-sqlite3 is), and
// MemoryPoolStore is the in-memory one that tests and a one-off CLI run use.
// Like a libvirt storage pool definition: the pool's name, kind and where it lives, no state.
import type { PoolDef } from '../../protocol/storage.js';

export interface PoolStore {
  list(): PoolDef[];
  get(name: string): PoolDef | undefined;
  add(def: PoolDef): void;
  remove(name: string): void;
}

export type FilePoolDef = Extract<PoolDef, { kind: 'dir' | 'shared' }>;
export type BlockPoolDef = Extract<PoolDef, { kind: 'block' }>;

export function isFilePool(def: PoolDef): def is FilePoolDef {
  return def.kind !== 'block';
}

export class MemoryPoolStore implements PoolStore {
  readonly #pools = new Map<string, PoolDef>();

  constructor(defs: readonly PoolDef[] = []) {
    for (const d of defs) this.add(d);
  }

  list(): PoolDef[] {
    return [...this.#pools.values()];
  }

  get(name: string): PoolDef | undefined {
    return this.#pools.get(name);
  }

  add(def: PoolDef): void {
    if (this.#pools.has(def.name)) throw new Error(`pool ${def.name} is already stored`);
    this.#pools.set(def.name, structuredClone(def));
  }

  remove(name: string): void {
    this.#pools.delete(name);
  }
}
