import Foundation
import GRDB

/// How long request rows are kept: by age, by count, or both (whichever removes more).
public struct HistoryRetention: Sendable, Equatable, CustomStringConvertible {
    /// Keep requests received within this many seconds.
    public var maxAgeSeconds: Double?
    /// Keep at most this many requests (the newest).
    public var maxRows: Int?

    /// Creates a policy.
    public init(maxAgeSeconds: Double? = nil, maxRows: Int? = nil) {
        self.maxAgeSeconds = maxAgeSeconds
        self.maxRows = maxRows
    }

    /// Parses `7d`, `12h`, `30m`, `90s`, `1000000` (rows), or both joined by a comma: `7d,1000000`.
    public init?(parsing text: String) {
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let rows = Int(part), rows > 0 {
                maxRows = rows
            } else if let seconds = Self.seconds(part) {
                maxAgeSeconds = seconds
            } else {
                return nil
            }
        }
        if maxRows == nil && maxAgeSeconds == nil { return nil }
    }

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

    /// `7d` / `1000000 rows` / both.
    public var description: String {
        [maxAgeSeconds.map { "\(Int($0))s" }, maxRows.map { "\($0) rows" }].compactMap { $0 }.joined(separator: ", ")
    }

    /// Deletes up to `chunk` finished request rows beyond the policy; returns how many went.
    func prune(_ db: Database, nowNanoseconds: Int64, chunk: Int = 20_000) throws -> Int {
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
        guard cutoffID > 0 else { return 0 }
        try db.execute(sql: """
            DELETE FROM request WHERE id IN (
                SELECT id FROM request WHERE id <= ? AND status NOT IN ('queued', 'in_flight') ORDER BY id LIMIT ?)
            """, arguments: [cutoffID, chunk])
        return db.changesCount
    }
}
