import Foundation
import GRDB

extension HistoryDatabase {
    /// How much disk the database takes.
    public struct Size: Sendable, Equatable {
        /// Bytes of the file and its write-ahead log.
        public var fileBytes: Int64
        /// Bytes of pages in use, `(page_count - freelist_count) * page_size`: what retention bounds. Freed pages
        /// are reused, so the file does not shrink below its largest size.
        public var usedBytes: Int64
    }

    /// Measures the database (cheap: three pragmas and two `stat`s).
    public func size() throws(StoreError) -> Size {
        let used = try read { db in try HistoryRetention.usedBytes(db) }
        let files = [path, path + "-wal"].map { file in
            ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return Size(fileBytes: files.reduce(0, +), usedBytes: used)
    }

    /// Closes every request row still `queued` or `in_flight` as `abandoned`, at a graceful stop once every
    /// real outcome has been written; returns how many there were.
    public func closeOpenRequests() throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "UPDATE request SET status = 'abandoned' WHERE status IN ('queued', 'in_flight')")
            return db.changesCount
        }
    }

    /// Ends every session row still open as `shutdown`, at a graceful stop once every real outcome has been
    /// written (the broker ends its sessions as it stops; this closes any it could not report); returns how
    /// many there were.
    public func closeOpenSessions() throws(StoreError) -> Int {
        try write { db in try Self.closeOpenSessions(db, at: Timestamp.now()) }
    }

    /// Ends the open session rows as `shutdown` at `at`.
    static func closeOpenSessions(_ db: Database, at: String) throws -> Int {
        try db.execute(sql: """
            UPDATE session SET ended_at = ?, end_reason = 'shutdown' WHERE ended_at IS NULL
            """, arguments: [at])
        return db.changesCount
    }
}
