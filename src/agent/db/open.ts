// The agent's registry: one SQLite file (better-sqlite3, WAL) under the data dir, with
// versioned schema migrations applied in order at open. Synchronous by design: a phase
// change is on disk before the next line acts on it (the engine's "journal first" rule).
import Database from 'better-sqlite3';
import { migrations } from './schema.js';

export type Db = Database.Database;

export function openDb(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `registry schema version ${current} is newer than this agent knows (${migrations.length}): upgrade vmhop-agent`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    const step = migrations[v] as string;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
