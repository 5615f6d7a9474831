import GRDB

/// The history database's migrations. The SQL is the same, byte for byte, as `schema/NNNN_*.sql` (a test
/// checks that both produce the same schema). Append-only: never edit a migration that has shipped.
public enum HistorySchema {
    /// Migration identifiers and their SQL, in order.
    public static let migrations: [(identifier: String, sql: String)] = [
        ("0001_initial", initial),
        ("0002_sessions", sessions),
    ]

    /// A migrator that applies ``migrations``.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
        }
        return migrator
    }

    static let initial = """
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

        """

    static let sessions = """
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

        """
}
