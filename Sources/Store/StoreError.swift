/// Why the history database could not be opened, read or written.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, to match on.
    public enum Code: Sendable, Equatable {
        /// The file is not a SQLite database, or it is corrupt.
        case notADatabase
        /// The database was written by a newer Baton (it has migrations this one does not know).
        case newerSchema
        /// Another process holds a lock on the database.
        case locked
        /// The file does not exist (read-only commands).
        case missing
        /// Any other SQLite error.
        case sqlite
    }

    /// The kind of failure.
    public let code: Code
    /// The database file.
    public let path: String
    /// What went wrong.
    public let detail: String
    /// SQLite's (extended) result code, when SQLite reported the failure.
    public let sqliteCode: Int32?

    /// Creates an error.
    public init(_ code: Code, path: String, _ detail: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.path = path
        self.detail = detail
        self.sqliteCode = sqliteCode
    }

    /// Whether the same write may succeed later without anyone changing the file: the disk was full, an I/O
    /// error, a lock, a read-only or missing file, no memory. A constraint or a corrupt file is not.
    public var isTransient: Bool {
        if code == .locked { return true }
        // SQLITE_BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14, PROTOCOL 15.
        guard code == .sqlite, let sqliteCode else { return false }
        return [5, 6, 7, 8, 10, 13, 14, 15].contains(sqliteCode & 0xff)
    }

    /// What an operator can do about it, for the log and `baton status`.
    public var advice: String {
        switch (code, (sqliteCode ?? 0) & 0xff) {
        case (.notADatabase, _), (.newerSchema, _):
            "move the file aside (Baton then starts a new one) or run with --no-history"
        case (.locked, _), (_, 5), (_, 6):
            "stop the process that holds the lock, or run with --no-history"
        case (_, 8), (_, 14):
            "make the file and its directory writable by Baton's user, or run with --no-history"
        default:
            "free disk space, move the file aside, or run with --no-history"
        }
    }

    /// A sentence naming the file.
    public var description: String {
        switch code {
        case .notADatabase:
            "\(path) is not a Baton history database, or it is corrupt: \(detail); move it aside (mv \(path) "
                + "\(path).bad) to start a new one, or run serve with --no-history"
        case .newerSchema: "\(path) was written by a newer version of Baton: \(detail)"
        case .locked: "\(path) is locked by another process: \(detail)"
        case .missing: "no history database at \(path)"
        case .sqlite: "\(path): \(detail)"
        }
    }
}
