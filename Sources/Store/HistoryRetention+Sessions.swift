import GRDB

extension HistoryRetention {
    /// Deletes up to `chunk` ended sessions that the policy no longer keeps, with their handoffs; returns how
    /// many rows went. Sessions follow the same rules as requests: by age, those that ended before the cutoff;
    /// by row count or size, those that ended before the oldest request still kept was received (every request
    /// of theirs is gone). Open sessions are kept, however old.
    func pruneSessions(_ db: Database, nowNanoseconds: Int64, chunk: Int) throws -> Int {
        var bound: String?
        if let maxAgeSeconds {
            bound = Timestamp.iso(nanoseconds: nowNanoseconds - Int64(maxAgeSeconds * 1e9))
        }
        if maxRows != nil || maxBytes != nil,
           let oldest = try String.fetchOne(db, sql: "SELECT min(received_at) FROM request") {
            bound = max(bound ?? oldest, oldest)
        }
        guard let bound else { return 0 }
        // The same rows for both statements: ordered by a unique order, so a session never outlives its handoffs'
        // deletion nor the other way round (a handoff refers to its session).
        let chosen = "SELECT id FROM session WHERE ended_at < ? ORDER BY ended_at, id LIMIT ?"
        try db.execute(sql: "DELETE FROM handoff WHERE session IN (\(chosen))", arguments: [bound, chunk])
        var removed = db.changesCount
        try db.execute(sql: "DELETE FROM session WHERE id IN (\(chosen))", arguments: [bound, chunk])
        removed += db.changesCount
        // Handoffs of a session that had no row (closed at a start-up before its move was written).
        try db.execute(sql: """
            DELETE FROM handoff WHERE id IN (SELECT id FROM handoff WHERE session IS NULL AND at < ? LIMIT ?)
            """, arguments: [bound, chunk])
        return removed + db.changesCount
    }
}
