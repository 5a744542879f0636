// Registry schema migrations, in order: index i upgrades user_version i to i+1.
// Never edit a released step; add a new one.

export const migrations: string[] = [
  `
  CREATE TABLE pools (
    name TEXT PRIMARY KEY,
    def TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE vms (
    name TEXT PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    -- 'local' while this host owns the VM; 'moved:<host>' once it moved away and was kept
    owner TEXT NOT NULL DEFAULT 'local',
    job_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    vm TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    phase TEXT NOT NULL,
    state TEXT NOT NULL,
    peer TEXT,
    options TEXT NOT NULL,
    report TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id),
    at TEXT NOT NULL,
    entry TEXT NOT NULL
  );
  CREATE TABLE artifacts (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (job_id, kind, ref)
  );
  `,
  `
  ALTER TABLE jobs ADD COLUMN preflight TEXT;
  `,
];
