// Pool definitions in the registry. The storage service reads them through this store;
// the pool's files and devices themselves are never touched here.
import { PoolDef } from '../../protocol/storage.js';
import type { Db } from './open.js';

export class SqlitePoolStore {
  constructor(private readonly db: Db) {}

  list(): PoolDef[] {
    const rows = this.db.prepare('SELECT def FROM pools ORDER BY name').all() as { def: string }[];
    return rows.map((r) => PoolDef.parse(JSON.parse(r.def)));
  }

  get(name: string): PoolDef | undefined {
    const r = this.db.prepare('SELECT def FROM pools WHERE name = ?').get(name) as
      { def: string } | undefined;
    return r && PoolDef.parse(JSON.parse(r.def));
  }

  add(def: PoolDef): void {
    this.db
      .prepare('INSERT INTO pools (name, def, created_at) VALUES (?, ?, ?)')
      .run(def.name, JSON.stringify(def), new Date().toISOString());
  }

  remove(name: string): void {
    this.db.prepare('DELETE FROM pools WHERE name = ?').run(name);
  }
}
