import Foundation
import GRDB

/// How much request history is kept: by age, by used database size, by count, or any of them (whichever
/// removes more). ``standard`` is what `baton serve` uses unless told otherwise; ``none`` keeps everything.
public struct HistoryRetention: Sendable, Equatable, CustomStringConvertible {
    /// Keep requests received within this many seconds.
    public var maxAgeSeconds: Double?
    /// Keep at most this many requests (the newest).
    public var maxRows: Int?
    /// Keep the database's used pages, `(page_count - freelist_count) * page_size`, under this many bytes.
    /// SQLite reuses freed pages rather than shrinking the file, so the file stays near its largest size.
    public var maxBytes: Int64?

    /// The default bound: 7 days or 1 GiB of used pages, whichever comes first.
    public static let standard = HistoryRetention(maxAgeSeconds: 7 * 86400, maxBytes: 1 << 30)
    /// Keeps everything.
    public static let none = HistoryRetention()

    /// Creates a policy.
    public init(maxAgeSeconds: Double? = nil, maxRows: Int? = nil, maxBytes: Int64? = nil) {
        self.maxAgeSeconds = maxAgeSeconds
        self.maxRows = maxRows
        self.maxBytes = maxBytes
    }

    /// Parses `7d`, `12h`, `30m`, `90s` (ages), `500MB`, `2GiB` (sizes), `1000000` (rows), several joined by
    /// commas (`7d,1GiB`), or `none`.
    public init?(parsing text: String) {
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "none" { return }
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let rows = Int(part), rows > 0 {
                maxRows = rows
            } else if let seconds = Self.seconds(part) {
                maxAgeSeconds = seconds
            } else if let bytes = ByteSize.parse(part) {
                maxBytes = bytes
            } else {
                return nil
            }
        }
        if keepsEverything { return nil }
    }

    /// Whether the policy removes nothing (`none`).
    public var keepsEverything: Bool { maxRows == nil && maxAgeSeconds == nil && maxBytes == nil }

    /// Parses an age like `90s`, `10m`, `12h` or `7d` into seconds.
    public static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    /// `604800s, 1.0 GiB` / `1000000 rows` / `none`.
    public var description: String {
        if keepsEverything { return "none" }
        return [maxAgeSeconds.map { "\(Int($0))s" }, maxBytes.map(ByteSize.format), maxRows.map { "\($0) rows" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    /// Deletes up to `chunk` finished request rows beyond the policy, then the ended sessions that go with them
    /// (``pruneSessions(_:nowNanoseconds:chunk:)``); returns how many rows went.
    func prune(_ db: Database, nowNanoseconds: Int64, chunk: Int = 20_000) throws -> Int {
        let requests = try pruneRequests(db, nowNanoseconds: nowNanoseconds, chunk: chunk)
        return requests + (try pruneSessions(db, nowNanoseconds: nowNanoseconds, chunk: chunk))
    }

    /// Deletes up to `chunk` finished request rows beyond the policy; returns how many went.
    func pruneRequests(_ db: Database, nowNanoseconds: Int64, chunk: Int) throws -> Int {
        var cutoffID: Int64 = 0
        if let maxRows, let id = try Int64.fetchOne(db, sql: "SELECT id FROM request ORDER BY id DESC LIMIT 1 OFFSET ?",
                                                    arguments: [maxRows]) {
            cutoffID = id
        }
        if let maxAgeSeconds {
            let cutoff = Timestamp.iso(nanoseconds: nowNanoseconds - Int64(maxAgeSeconds * 1e9))
            // Request ids grow with time, so the newest id received before the cutoff bounds the old rows.
            if let id = try Int64.fetchOne(db, sql: """
                SELECT max(id) FROM request WHERE id IN (SELECT id FROM request WHERE received_at < ?)
                """, arguments: [cutoff]) {
                cutoffID = max(cutoffID, id)
            }
        }
        // By size, at most 5,000 rows a pass: the next pass measures again, so it stops close to the bound.
        if let maxBytes, case let excess = try Self.rowsOverSize(db, maxBytes: maxBytes), excess > 0,
           let id = try Int64.fetchOne(db, sql: "SELECT id FROM request ORDER BY id LIMIT 1 OFFSET ?",
                                       arguments: [min(excess, chunk, 5000) - 1]) {
            cutoffID = max(cutoffID, id)
        }
        guard cutoffID > 0 else { return 0 }
        try db.execute(sql: """
            DELETE FROM request WHERE id IN (
                SELECT id FROM request WHERE id <= ? AND status NOT IN ('queued', 'in_flight') ORDER BY id LIMIT ?)
            """, arguments: [cutoffID, chunk])
        return db.changesCount
    }

    /// The database's used bytes: pages in use (not on the freelist) times the page size.
    static func usedBytes(_ db: Database) throws -> Int64 {
        let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        return (pages - free) * pageSize
    }

    /// About how many of the oldest request rows must go for the used size to fall under `maxBytes`: the excess
    /// divided by the bytes per request row, estimated from the id range (ids have gaps, so never below 200
    /// bytes, about what a row and its index entries take).
    static func rowsOverSize(_ db: Database, maxBytes: Int64) throws -> Int {
        let used = try usedBytes(db)
        guard used > maxBytes,
              let range = try Row.fetchOne(db, sql: "SELECT min(id) AS low, max(id) AS high FROM request"),
              let low = range["low"] as Int64?, let high = range["high"] as Int64?
        else { return 0 }
        let bytesPerRow = max(200, Double(used) / Double(max(1, high - low + 1)))
        return max(1, Int((Double(used - maxBytes) / bytesPerRow).rounded(.up)))
    }
}
