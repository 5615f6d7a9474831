import BatonProtocol
import GRDB
import GRDBSQLite

/// Binds values straight to a prepared statement and steps it, for the history writer's hot loop (GRDB's
/// `StatementArguments` allocate per value; this does not). The statement comes from GRDB's statement cache,
/// runs inside GRDB's transaction, and is reset before use.
struct RowBinder {
    let statement: Statement
    let connection: OpaquePointer?
    private var handle: OpaquePointer { statement.sqliteStatement }
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: Statement, in db: Database) {
        self.statement = statement
        connection = db.sqliteConnection
    }

    func reset() {
        sqlite3_reset(handle)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Int?) {
        bind(index, value.map(Int64.init))
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var text = value
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }
    }

    /// Binds UTF-8 bytes as TEXT (SQLite copies them).
    func bind(_ index: Int32, text: UnsafeBufferPointer<UInt8>) {
        _ = text.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Self.transient)
        }
    }

    /// Binds a wall-clock time as the database's timestamp text, or NULL.
    func bind(_ index: Int32, time nanoseconds: Int64?, with formatter: inout TimestampFormatter) {
        guard let nanoseconds else {
            sqlite3_bind_null(handle, index)
            return
        }
        formatter.withFormatted(nanoseconds) { bind(index, text: $0) }
    }

    /// Binds a session key as TEXT or BLOB (``SessionKey``).
    func bind(_ index: Int32, _ key: SessionKey?) {
        guard let key else {
            sqlite3_bind_null(handle, index)
            return
        }
        if let text = key.text {
            bind(index, text)
        } else {
            key.bytes.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
            }
        }
    }

    /// Runs the statement once; throws SQLite's error.
    func step() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                message: connection.map { String(cString: sqlite3_errmsg($0)) })
        }
    }
}
