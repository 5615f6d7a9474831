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

    /// Creates an error.
    public init(_ code: Code, path: String, _ detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
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
