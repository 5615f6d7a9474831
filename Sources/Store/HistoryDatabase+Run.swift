import BatonProtocol
import Foundation
import GRDB

extension HistoryDatabase {
    /// What a supervisor needs from the database when it starts.
    public struct RunStart: Sendable, Equatable {
        /// The generation its workers run (nil without managed workers).
        public let generation: Int?
        /// The highest generation number recorded (failed ones included); a reload creates the next.
        public let latestGeneration: Int
        /// The first request id to use, above every id already recorded.
        public let firstRequestID: UInt64
        /// Requests that were queued or in flight when the previous supervisor died, now `abandoned`.
        public let abandonedRequests: Int
        /// Workers whose exit was never recorded, now closed as `abandoned`.
        public let abandonedWorkers: Int
        /// Sessions left open, now ended as `shutdown`: their workers went with the supervisor that died.
        public let abandonedSessions: Int
    }

    /// Closes what a dead supervisor left open, finds or creates the generation for the command, and
    /// records the start. A generation is reused when the latest one has the same executable, arguments
    /// and digest; otherwise a new one (the next number) becomes active.
    ///
    /// With `generation`, that number becomes the active generation whatever the file holds (created if it is
    /// missing): a supervisor that started while the database could not be opened has already chosen it.
    public func beginRun(executable: String?, arguments: [String], sha256: String?, detail: String,
                         generation chosen: Int? = nil) throws(StoreError) -> RunStart
    {
        try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE request SET status = 'abandoned' WHERE status IN ('queued', 'in_flight')")
            let abandonedRequests = db.changesCount
            try db.execute(sql: """
                UPDATE worker SET exited_at = ?, exit_reason = ? WHERE exited_at IS NULL
                """, arguments: [now, WorkerExitReason.abandoned.rawValue])
            let abandonedWorkers = db.changesCount
            let abandonedSessions = try Self.closeOpenSessions(db, at: now)
            var generation: Int?
            if let executable, let sha256 {
                let argumentsJSON = String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self)
                let latest = try Row.fetchOne(db, sql: """
                    SELECT id, executable, arguments, sha256, state FROM generation ORDER BY id DESC LIMIT 1
                    """)
                if let chosen {
                    try db.execute(sql: """
                        UPDATE generation SET state = 'retired', reason = 'superseded at start'
                        WHERE state = 'active' AND id <> ?
                        """, arguments: [chosen])
                    try db.execute(sql: """
                        INSERT INTO generation (id, executable, arguments, sha256, created_at, state)
                        VALUES (?, ?, ?, ?, ?, 'active') ON CONFLICT(id) DO UPDATE SET state = 'active'
                        """, arguments: [chosen, executable, argumentsJSON, sha256, now])
                    generation = chosen
                } else if let latest, latest["executable"] == executable, latest["arguments"] == argumentsJSON,
                   latest["sha256"] == sha256, GenerationState.isReusable(stored: latest["state"])
                {
                    generation = latest["id"]
                    try db.execute(sql: "UPDATE generation SET state = 'active' WHERE id = ?", arguments: [generation])
                } else {
                    let next = (try Int.fetchOne(db, sql: "SELECT max(id) FROM generation") ?? 0) + 1
                    try db.execute(sql: """
                        UPDATE generation SET state = 'retired', reason = 'superseded at start' WHERE state = 'active'
                        """)
                    try db.execute(sql: """
                        INSERT INTO generation (id, executable, arguments, sha256, created_at, state)
                        VALUES (?, ?, ?, ?, ?, 'active')
                        """, arguments: [next, executable, argumentsJSON, sha256, now])
                    generation = next
                }
            }
            let maxID = try Int64.fetchOne(db, sql: "SELECT max(id) FROM request") ?? 0
            let latest = try Int.fetchOne(db, sql: "SELECT max(id) FROM generation") ?? 0
            try db.execute(sql: """
                INSERT INTO event (at, kind, generation, detail) VALUES (?, 'supervisor-started', ?, ?)
                """, arguments: [now, generation, detail])
            if abandonedRequests > 0 || abandonedWorkers > 0 || abandonedSessions > 0 {
                let sessions = abandonedSessions > 0 ? ", \(abandonedSessions) sessions" : ""
                try db.execute(sql: """
                    INSERT INTO event (at, kind, detail) VALUES (?, 'abandoned', ?)
                    """, arguments: [now, "\(abandonedRequests) requests\(sessions) and \(abandonedWorkers) workers left open by a supervisor that did not stop cleanly"])
            }
            return RunStart(generation: generation, latestGeneration: latest, firstRequestID: UInt64(maxID) + 1,
                            abandonedRequests: abandonedRequests, abandonedWorkers: abandonedWorkers,
                            abandonedSessions: abandonedSessions)
        }
    }
}
