import BatonProtocol
import GRDB

/// One request as `baton history` shows it.
public struct RequestRecord: Sendable, Codable, Equatable, FetchableRecord {
    /// Request id.
    public var id: Int64
    /// Hex of the client's routing id.
    public var client: String
    /// Worker it was last sent to.
    public var workerID: String?
    /// Slot of that worker, if managed.
    public var slot: Int?
    /// Generation of that worker.
    public var generation: Int?
    /// Times it was sent to a worker.
    public var attempts: Int
    /// queued, in_flight, replied, failed or abandoned.
    public var status: String
    /// BATON-ERR code when failed.
    public var error: String?
    /// When the broker received it.
    public var receivedAt: String
    /// When it was last sent to a worker.
    public var dispatchedAt: String?
    /// When it was answered.
    public var repliedAt: String?
    /// Microseconds waiting for a worker.
    public var waitMicroseconds: Int64?
    /// Microseconds from receipt to answer.
    public var totalMicroseconds: Int64?
    /// Request body size.
    public var requestBytes: Int
    /// Reply body size.
    public var replyBytes: Int?
    /// The session key it carried, as `baton sessions` shows it (``SessionKey/display``); nil without one.
    public var session: String?

    /// Decodes a row of ``HistoryQueries/history(_:)``.
    public init(row: Row) {
        id = row["id"]
        client = row["client"]
        workerID = row["worker_id"]
        slot = row["slot"]
        generation = row["generation"]
        attempts = row["attempts"]
        status = row["status"]
        error = row["error"]
        receivedAt = row["received_at"]
        dispatchedAt = row["dispatched_at"]
        repliedAt = row["replied_at"]
        waitMicroseconds = row["wait_us"]
        totalMicroseconds = row["total_us"]
        requestBytes = row["request_bytes"]
        replyBytes = row["reply_bytes"]
        session = SessionKey.fromDatabaseValue(row["session"]).map(\.display)
    }
}

/// One generation with its request statistics, for `baton generations`.
public struct GenerationSummary: Sendable, Codable, Equatable {
    /// Generation number.
    public var id: Int
    /// Executable path.
    public var executable: String
    /// Arguments (JSON array text).
    public var arguments: String
    /// SHA-256 of the executable.
    public var sha256: String
    /// When it was created.
    public var createdAt: String
    /// active, rolling, failed or retired.
    public var state: String
    /// Why it failed or was retired.
    public var reason: String?
    /// Requests served by its workers (any outcome).
    public var requests: Int
    /// Of those, answered with BATON-ERR.
    public var errors: Int
    /// errors / requests (0 when none).
    public var errorRate: Double
    /// Median receipt-to-reply time of replied requests, µs.
    public var p50Microseconds: Int64?
    /// 99th percentile, µs.
    public var p99Microseconds: Int64?
}

/// One worker process, for `baton workers`.
public struct WorkerRow: Sendable, Codable, Equatable, FetchableRecord {
    /// Routing id.
    public var workerID: String
    /// Slot (nil for external workers).
    public var slot: Int?
    /// Generation.
    public var generation: Int?
    /// Pid.
    public var pid: Int?
    /// Spawned, ready and exited times.
    public var spawnedAt: String?
    /// When it said READY.
    public var readyAt: String?
    /// When it exited or was dropped.
    public var exitedAt: String?
    /// Exit status.
    public var exitCode: Int?
    /// Signal that ended it.
    public var exitSignal: Int?
    /// Why it ended.
    public var exitReason: String?
    /// Requests it answered.
    public var replied: Int

    /// Decodes a row of ``HistoryQueries/workers(limit:)``.
    public init(row: Row) {
        workerID = row["worker_id"]
        slot = row["slot"]
        generation = row["generation"]
        pid = row["pid"]
        spawnedAt = row["spawned_at"]
        readyAt = row["ready_at"]
        exitedAt = row["exited_at"]
        exitCode = row["exit_code"]
        exitSignal = row["exit_signal"]
        exitReason = row["exit_reason"]
        replied = row["replied"]
    }
}

/// Filters for `baton history`.
public struct HistoryFilter: Sendable, Equatable {
    /// Newest rows to return.
    public var limit = 20
    /// Only this status.
    public var status: String?
    /// Only requests sent to this slot's workers.
    public var slot: Int?
    /// Only this generation.
    public var generation: Int?
    /// Only requests received at or after this timestamp (ISO text, compared as text).
    public var since: String?

    /// No filter, 20 rows.
    public init() {}
}

/// The read-only queries behind `baton history`, `generations` and `workers`.
public enum HistoryQueries {
    /// The newest requests matching the filter, newest first.
    public static func history(_ filter: HistoryFilter, in database: HistoryDatabase) throws(StoreError)
        -> [RequestRecord]
    {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let status = filter.status {
            conditions.append("r.status = ?")
            arguments.append(status)
        }
        if let slot = filter.slot {
            conditions.append("w.slot = ?")
            arguments.append(slot)
        }
        if let generation = filter.generation {
            conditions.append("r.generation = ?")
            arguments.append(generation)
        }
        if let since = filter.since {
            conditions.append("r.received_at >= ?")
            arguments.append(since)
        }
        arguments.append(filter.limit)
        let sql = """
            SELECT r.*, w.slot FROM request r LEFT JOIN worker w ON w.worker_id = r.worker_id
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY r.id DESC LIMIT ?
            """
        return try database.read { db in
            try RequestRecord.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        }
    }

    /// Every generation with request counts, error rate and latency percentiles, newest first.
    public static func generations(in database: HistoryDatabase) throws(StoreError) -> [GenerationSummary] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM generation ORDER BY id DESC")
            return try rows.map { row in
                let id: Int = row["id"]
                let counts = try Row.fetchOne(db, sql: """
                    SELECT count(*) AS requests, total(status = 'failed') AS errors,
                        total(status = 'replied' AND total_us IS NOT NULL) AS replied
                    FROM request WHERE generation = ?
                    """, arguments: [id])
                let requests: Int = counts?["requests"] ?? 0
                let errors = Int(counts?["errors"] as Double? ?? 0)
                let replied = Int(counts?["replied"] as Double? ?? 0)
                func percentile(_ fraction: Double) throws -> Int64? {
                    guard replied > 0 else { return nil }
                    let offset = min(replied - 1, Int(Double(replied) * fraction))
                    return try Int64.fetchOne(db, sql: """
                        SELECT total_us FROM request
                        WHERE generation = ? AND total_us IS NOT NULL AND status = 'replied'
                        ORDER BY total_us LIMIT 1 OFFSET ?
                        """, arguments: [id, offset])
                }
                return GenerationSummary(
                    id: id, executable: row["executable"], arguments: row["arguments"], sha256: row["sha256"],
                    createdAt: row["created_at"], state: row["state"], reason: row["reason"], requests: requests,
                    errors: errors, errorRate: requests > 0 ? Double(errors) / Double(requests) : 0,
                    p50Microseconds: try percentile(0.5), p99Microseconds: try percentile(0.99))
            }
        }
    }

    /// The newest worker processes, newest first, with the requests each answered.
    public static func workers(limit: Int, in database: HistoryDatabase) throws(StoreError) -> [WorkerRow] {
        try database.read { db in
            try WorkerRow.fetchAll(db, sql: """
                SELECT w.*, (SELECT count(*) FROM request r WHERE r.worker_id = w.worker_id AND r.status = 'replied')
                    AS replied
                FROM worker w ORDER BY w.id DESC LIMIT ?
                """, arguments: [limit])
        }
    }
}
