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
  // Named client tokens (only their SHA-256) and the audit log. The audit table refuses
  // UPDATE and DELETE, so no code path of the agent can rewrite what happened.
  `
  CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'read-only')),
    created_at TEXT NOT NULL
  );
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    who_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    request_id TEXT,
    job_id TEXT,
    details TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_at ON audit (at);
  CREATE INDEX audit_job ON audit (job_id);
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
  // Whether the source's guest ran when its migration began: a rollback or a recovery after a
  // restart resumes only a guest that was running (NULL, jobs from before: taken as running).
  `
  ALTER TABLE jobs ADD COLUMN guest_was_running INTEGER;
  `,
  // The job history is paged newest first and pruned by age: both read jobs by time, and a
  // pruned job's journal goes with it.
  `
  CREATE INDEX jobs_created ON jobs (created_at, id);
  CREATE INDEX journal_job ON journal (job_id);
  `,
  // Drains (issue 17 §1): the host's maintenance mark (one row while drained), and each drain
  // as a job of its own with its plan, per-VM outcome and journal, so a restart resumes it.
  `
  CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    since TEXT NOT NULL,
    reason TEXT NOT NULL,
    drain_id TEXT
  );
  CREATE TABLE drains (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    plan TEXT NOT NULL,
    moves TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE drain_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    drain_id TEXT NOT NULL REFERENCES drains(id),
    at TEXT NOT NULL,
    entry TEXT NOT NULL
  );
  CREATE INDEX drains_created ON drains (created_at, id);
  `,
  // The agent-to-agent protocol version a job speaks, chosen at its pre-flight and kept for every
  // message of the job, also after a restart (NULL, jobs from before: 2, the one agents spoke then).
  `
  ALTER TABLE jobs ADD COLUMN protocol_version INTEGER;
  `,
];
