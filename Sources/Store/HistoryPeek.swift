import Foundation
import GRDBSQLite

/// The numbers a supervisor needs from a history database it cannot open for writing (a full disk, a lock, a
/// newer schema), read without changing the file, so that what it records once the database opens does not
/// collide with what is already there.
struct HistoryPeek: Equatable {
    /// The latest generation row.
    struct Generation: Equatable {
        var id: Int
        var executable: String
        var arguments: String
        var sha256: String
        var state: String
    }

    /// The highest request id recorded (0: none).
    var maxRequestID: Int64 = 0
    /// The highest generation number recorded (0: none).
    var maxGeneration = 0
    /// The latest generation.
    var latest: Generation?

    /// Reads the file: first as an ordinary read-only connection (which sees a write-ahead log a killed
    /// supervisor left), then, when that fails (on a full disk it cannot create its shared-memory file) and no
    /// write-ahead log holds data, as an immutable file. A missing or empty file gives zeros; nil when the file
    /// cannot be read at all.
    static func read(path: String) -> HistoryPeek? {
        guard fileSize(path) > 0 else { return HistoryPeek() }
        let uri = "file:" + path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
            .replacingOccurrences(of: "#", with: "%23")
        if let peek = query(uri: uri + "?mode=ro") { return peek }
        guard fileSize(path + "-wal") == 0 else { return nil }
        return query(uri: uri + "?immutable=1")
    }

    private static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    private static func query(uri: String) -> HistoryPeek? {
        var connection: OpaquePointer?
        defer { sqlite3_close_v2(connection) }
        guard sqlite3_open_v2(uri, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil) == SQLITE_OK,
              let connection
        else { return nil }
        sqlite3_busy_timeout(connection, 500)
        var peek = HistoryPeek()
        let requests = step(connection, "SELECT coalesce(max(id), 0) FROM request") {
            peek.maxRequestID = sqlite3_column_int64($0, 0)
        }
        let generations = step(connection, "SELECT coalesce(max(id), 0) FROM generation") {
            peek.maxGeneration = Int(sqlite3_column_int64($0, 0))
        }
        let latest = step(connection, """
            SELECT id, executable, arguments, sha256, state FROM generation ORDER BY id DESC LIMIT 1
            """) { statement in
            func text(_ column: Int32) -> String {
                sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
            }
            peek.latest = Generation(id: Int(sqlite3_column_int64(statement, 0)), executable: text(1),
                                     arguments: text(2), sha256: text(3), state: text(4))
        }
        let ok = requests && generations && latest
        return ok ? peek : nil
    }

    /// Runs one query; calls `row` for its first row, if any. False on any error.
    private static func step(_ connection: OpaquePointer, _ sql: String, row: (OpaquePointer) -> Void) -> Bool {
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK, let statement else { return false }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: row(statement)
        case SQLITE_DONE: break
        default: return false
        }
        return true
    }
}
