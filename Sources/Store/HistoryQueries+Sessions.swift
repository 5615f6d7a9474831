import BatonProtocol
import GRDB

/// One session lifetime, for `baton sessions`.
public struct SessionRecord: Sendable, Codable, Equatable, FetchableRecord {
    /// Row id (one per session lifetime).
    public var id: Int64
    /// The key as text, when it is stored as text (see ``SessionKey``).
    public var key: String?
    /// The key's bytes in lower-case hex.
    public var keyHex: String
    /// The worker that holds it (or held it when it ended).
    public var workerID: String?
    /// That worker's slot (nil for external workers).
    public var slot: Int?
    /// That worker's generation.
    public var generation: Int?
    /// When its first request was sent to a worker.
    public var openedAt: String
    /// When it ended (nil: open).
    public var endedAt: String?
    /// How it ended: ended, idle, lost, drain-timeout or shutdown.
    public var endReason: String?
    /// Its requests: the count its end reported, or, for an open session (or one whose end reported none),
    /// the requests recorded with its key since the key's previous session ended.
    public var requests: Int
    /// Handoffs that moved it to another worker.
    public var moves: Int

    /// The key as `baton sessions` shows it: the text, or `x'HEX'`.
    public var displayKey: String { key ?? "x'\(keyHex)'" }

    /// Decodes a row of ``HistoryQueries/sessions(_:in:)``.
    public init(row: Row) {
        let stored = SessionKey.fromDatabaseValue(row["key"]) ?? SessionKey(bytes: [])
        id = row["id"]
        key = stored.text
        keyHex = stored.hex
        workerID = row["worker_id"]
        slot = row["slot"]
        generation = row["generation"]
        openedAt = row["opened_at"]
        endedAt = row["ended_at"]
        endReason = row["end_reason"]
        requests = row["requests"]
        moves = row["moves"]
    }
}

/// Filters for `baton sessions`.
public struct SessionFilter: Sendable, Equatable {
    /// Ended sessions too, not only open ones.
    public var includeEnded = false
    /// Newest sessions to return.
    public var limit = 1000
    /// Only sessions of one of these keys (``SessionKey/keys(displayedAs:)``); nil: any key.
    public var keys: [SessionKey]?
    /// Only sessions held by this worker.
    public var workerID: String?

    /// Open sessions of any key and worker, up to 1,000.
    public init() {}
}

extension HistoryQueries {
    /// The newest sessions matching the filter (at most `limit`), ordered by worker, then by when they opened;
    /// and how many match in all.
    public static func sessions(_ filter: SessionFilter, in database: HistoryDatabase) throws(StoreError)
        -> (sessions: [SessionRecord], matching: Int)
    {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if !filter.includeEnded { conditions.append("s.ended_at IS NULL") }
        if let keys = filter.keys {
            conditions.append("s.key IN (\(keys.isEmpty ? "NULL" : keys.map { _ in "?" }.joined(separator: ", ")))")
            arguments += keys.map { $0 as (any DatabaseValueConvertible)? }
        }
        if let workerID = filter.workerID {
            conditions.append("s.worker_id = ?")
            arguments.append(workerID)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        // Requests of a session not counted at its end: those of its key received after the key's previous
        // session ended, and not after this one ended (request_session index).
        let sql = """
            SELECT s.id, s.key, s.worker_id, w.slot, s.generation, s.opened_at, s.ended_at, s.end_reason, s.moves,
                COALESCE(s.requests, (
                    SELECT count(*) FROM request r
                    WHERE r.session = s.key
                      AND r.received_at > COALESCE((SELECT p.ended_at FROM session p WHERE p.key = s.key AND p.id < s.id
                                                    ORDER BY p.id DESC LIMIT 1), '')
                      AND (s.ended_at IS NULL OR r.received_at <= s.ended_at))) AS requests
            FROM session s LEFT JOIN worker w ON w.worker_id = s.worker_id
            \(whereClause)
            ORDER BY s.id DESC LIMIT ?
            """
        return try database.read { db in
            let sessions = try SessionRecord.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [filter.limit]))
            let matching = sessions.count < filter.limit ? sessions.count
                : try Int.fetchOne(db, sql: "SELECT count(*) FROM session s \(whereClause)",
                                   arguments: StatementArguments(arguments)) ?? sessions.count
            let ordered = sessions.sorted { a, b in
                if a.workerID != b.workerID {
                    guard let first = a.workerID else { return false }
                    guard let second = b.workerID else { return true }
                    return first < second
                }
                return (a.openedAt, a.id) < (b.openedAt, b.id)
            }
            return (ordered, matching)
        }
    }
}
