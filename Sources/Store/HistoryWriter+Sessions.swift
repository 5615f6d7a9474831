import BatonProtocol
import GRDB

extension HistoryWriter {
    /// Writes a session event: an opened session is a new `session` row; a move or a failed move is a
    /// `handoff` row (a move also gives the session its new worker); an end closes the newest open row of the
    /// key. An event about a key with no open row (its row was closed by a start-up) changes no session row.
    mutating func applySessionEvent(_ event: HistoryEvent, wall: (Instant) -> Int64, in db: Database) throws {
        switch event {
        case .sessionOpened(let key, let worker, let at):
            let workerID = worker.name
            try db.execute(sql: """
                INSERT INTO session (key, worker_id, generation, opened_at)
                VALUES (?, ?, (SELECT generation FROM worker WHERE worker_id = ?), ?)
                """, arguments: [key, workerID, workerID, formatter.format(wall(at))])
        case .sessionMoved(let key, let from, let to, let pause, let at):
            let target = to.name
            let id = try openSession(key, in: db)
            if let id {
                try db.execute(sql: """
                    UPDATE session SET worker_id = ?, generation = (SELECT generation FROM worker WHERE worker_id = ?),
                        moves = moves + 1
                    WHERE id = ?
                    """, arguments: [target, target, id])
            }
            try insertHandoff(session: id, key: key, from: from, to: to, outcome: "moved",
                              pauseMicroseconds: pause.wholeMicroseconds, error: nil, at: formatter.format(wall(at)),
                              in: db)
        case .sessionHandoffFailed(let key, let from, let to, let reason, let at):
            try insertHandoff(session: try openSession(key, in: db), key: key, from: from, to: to,
                              outcome: "failed", pauseMicroseconds: nil, error: reason,
                              at: formatter.format(wall(at)), in: db)
        case .sessionEnded(let key, let worker, let reason, let requests, let at):
            guard let id = try openSession(key, in: db) else { return }
            try db.execute(sql: """
                UPDATE session SET ended_at = ?, end_reason = ?, requests = ?, worker_id = COALESCE(worker_id, ?)
                WHERE id = ?
                """, arguments: [formatter.format(wall(at)), reason.rawValue, max(0, requests),
                                 worker.name, id])
        case .requestReceived, .requestDispatched, .requestRequeued, .requestReplied, .requestFailed,
             .requestReplyDropped, .requestSession, .workerSpawned, .workerReady, .workerLost, .workerExited,
             .generationCreated, .generationDigest, .generationState, .supervisor:
            break  // not session events: apply(_:in:) and applyWorkerEvent write them
        }
    }

    /// The newest open row of a key.
    private func openSession(_ key: SessionKey, in db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT max(id) FROM session WHERE key = ? AND ended_at IS NULL",
                           arguments: [key])
    }

    private func insertHandoff(session: Int64?, key: SessionKey, from: WorkerID, to: WorkerID, outcome: String,
                               pauseMicroseconds: Int64?, error: String?, at: String, in db: Database) throws
    {
        let source = from.name
        let target = to.name
        try db.execute(sql: """
            INSERT INTO handoff (session, key, at, from_worker, to_worker, from_generation, to_generation, outcome,
                                 pause_us, error)
            VALUES (?, ?, ?, ?, ?, (SELECT generation FROM worker WHERE worker_id = ?),
                    (SELECT generation FROM worker WHERE worker_id = ?), ?, ?, ?)
            """, arguments: [session, key, at, source, target, source, target, outcome, pauseMicroseconds, error])
    }
}
