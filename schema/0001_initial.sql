-- Baton history database, migration 0001. Timestamps are UTC ISO-8601 text with microseconds
-- ("2026-11-24T22:00:00.123456Z"): readable in sqlite3, and they sort as time.

-- One version of the worker code.
CREATE TABLE generation (
    id INTEGER PRIMARY KEY,                 -- the generation number; only grows
    executable TEXT NOT NULL,               -- absolute path
    arguments TEXT NOT NULL,                -- JSON array of the arguments
    sha256 TEXT NOT NULL,                   -- hex digest of the executable when the generation was created
    created_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'rolling', 'failed', 'retired')),
    reason TEXT                             -- why it failed or was retired
);

-- One row per worker process (managed), or per connected worker (external: no slot, no pid).
CREATE TABLE worker (
    id INTEGER PRIMARY KEY,
    worker_id TEXT NOT NULL UNIQUE,         -- its ZeroMQ routing id (BATON_WORKER_ID)
    slot INTEGER CHECK (slot >= 1),
    generation INTEGER REFERENCES generation(id),
    pid INTEGER,
    spawned_at TEXT,
    ready_at TEXT,
    exited_at TEXT,
    exit_code INTEGER,
    exit_signal INTEGER,
    exit_reason TEXT                        -- crashed, hung, stopped, spawn-failed, lost, abandoned, …
);
CREATE INDEX worker_slot ON worker(slot, spawned_at);

-- One row per client request, written while it is queued and in flight, not only when it completes.
CREATE TABLE request (
    id INTEGER PRIMARY KEY,                 -- the broker's request id (the token workers see)
    client TEXT NOT NULL,                   -- hex of the client's routing id
    worker_id TEXT REFERENCES worker(worker_id),  -- the worker it was last sent to
    generation INTEGER REFERENCES generation(id),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    status TEXT NOT NULL CHECK (status IN ('queued', 'in_flight', 'replied', 'failed', 'abandoned')),
    error TEXT,                             -- BATON-ERR code when failed: expired, worker-died, …
    received_at TEXT NOT NULL,
    dispatched_at TEXT,
    replied_at TEXT,
    wait_us INTEGER,                        -- received → last dispatched
    total_us INTEGER,                       -- received → replied or failed
    request_bytes INTEGER NOT NULL,
    reply_bytes INTEGER
);
CREATE INDEX request_open ON request(status) WHERE status IN ('queued', 'in_flight');
CREATE INDEX request_received ON request(received_at);
CREATE INDEX request_generation ON request(generation, status, total_us);
CREATE INDEX request_worker ON request(worker_id);

-- The supervisor's own log: started, stopped, slot failed, reload started, …
CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    slot INTEGER,
    worker_id TEXT,
    generation INTEGER,
    detail TEXT
);
CREATE INDEX event_at ON event(at);
