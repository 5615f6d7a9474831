-- Baton history database, migration 0002: sessions (protocol version 2). A session key is stored as TEXT
-- when it is valid UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F), else as a BLOB of its
-- bytes; the key columns have no type, so each value keeps the type it was written with.

-- The session key of a request that carried one (BATON-SESSION), NULL for the others.
ALTER TABLE request ADD COLUMN session;
CREATE INDEX request_session ON request(session, received_at) WHERE session IS NOT NULL;

-- One row per session lifetime: a key whose session ended gets a new row when it opens again.
CREATE TABLE session (
    id INTEGER PRIMARY KEY,
    key NOT NULL,                           -- the session key, TEXT or BLOB as above
    worker_id TEXT,                         -- the worker that holds it (now, or when it ended): worker.worker_id
    generation INTEGER REFERENCES generation(id),  -- that worker's generation
    opened_at TEXT NOT NULL,                -- its first request was sent to a worker
    ended_at TEXT,
    end_reason TEXT CHECK (end_reason IN ('ended', 'idle', 'lost', 'drain-timeout', 'shutdown')),
    requests INTEGER CHECK (requests >= 0), -- requests it had, set when it ends (NULL: unknown)
    moves INTEGER NOT NULL DEFAULT 0 CHECK (moves >= 0),  -- handoffs that moved it to another worker
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX session_key ON session(key, id);
CREATE INDEX session_open ON session(worker_id, opened_at) WHERE ended_at IS NULL;
CREATE INDEX session_worker ON session(worker_id, id);
CREATE INDEX session_ended ON session(ended_at) WHERE ended_at IS NOT NULL;

-- One row per handoff during a reload or rollback: a session's state moved to another worker, or the move
-- failed and the session stayed where it was.
CREATE TABLE handoff (
    id INTEGER PRIMARY KEY,
    session INTEGER REFERENCES session(id), -- the session's row
    key NOT NULL,                           -- the session key, as session.key
    at TEXT NOT NULL,
    from_worker TEXT NOT NULL,
    to_worker TEXT NOT NULL,
    from_generation INTEGER REFERENCES generation(id),
    to_generation INTEGER REFERENCES generation(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('moved', 'failed')),
    pause_us INTEGER CHECK (pause_us >= 0), -- moved: how long the session's requests were held
    error TEXT                              -- failed: why (the worker's error text, or a timeout)
);
CREATE INDEX handoff_at ON handoff(at);
CREATE INDEX handoff_session ON handoff(session);
