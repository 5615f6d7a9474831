import Foundation
import GRDB

/// Baton's history database: a SQLite file in WAL mode, migrated on open.
///
/// The supervisor opens it for writing (one writer: the recorder thread); `baton history`, `generations`
/// and `workers` open it read-only, so they work whether or not a supervisor is running.
public final class HistoryDatabase: Sendable {
    /// The database file.
    public let path: String
    let writer: (any DatabaseWriter)?
    let reader: any DatabaseReader

    private init(path: String, writer: (any DatabaseWriter)?, reader: any DatabaseReader) {
        self.path = path
        self.writer = writer
        self.reader = reader
    }

    /// Opens (creating if needed) and migrates the database for the supervisor.
    public static func openForWriting(path: String, busyTimeout: Double = 2) throws(StoreError) -> HistoryDatabase {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // A checkpointed WAL is cut back to 64 MiB rather than kept at its largest size.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        return try mapErrors(path) {
            if FileManager.default.fileExists(atPath: path) {
                // Read the header before anything else touches the file, so a foreign file is left as it is.
                try checkIsSQLite(path)
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = HistorySchema.migrator
            if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                let applied = try pool.read { try migrator.appliedIdentifiers($0) }
                let unknown = applied.subtracting(HistorySchema.migrations.map(\.identifier)).sorted()
                throw StoreError(.newerSchema, path: path, "unknown migrations \(unknown.joined(separator: ", "))")
            }
            try migrator.migrate(pool)
            return HistoryDatabase(path: path, writer: pool, reader: pool)
        }
    }

    /// Opens an existing database read-only (for the history commands).
    public static func openReadOnly(path: String) throws(StoreError) -> HistoryDatabase {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.missing, path: path, "") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        return try mapErrors(path) {
            try checkIsSQLite(path)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let migrator = HistorySchema.migrator
            try queue.read { db in
                if try migrator.hasBeenSuperseded(db) {
                    throw StoreError(.newerSchema, path: path, "it has migrations this version does not know")
                }
                if try !migrator.hasCompletedMigrations(db) {
                    throw StoreError(.notADatabase, path: path, "its schema is not Baton's (or not migrated)")
                }
            }
            return HistoryDatabase(path: path, writer: nil, reader: queue)
        }
    }

    /// Runs a read.
    public func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        try Self.mapErrors(path) { try reader.read(body) }
    }

    /// Runs a write transaction (supervisor only).
    public func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        guard let writer else { throw StoreError(.sqlite, path: path, "the database is open read-only") }
        return try Self.mapErrors(path) { try writer.write(body) }
    }

    /// Runs `PRAGMA integrity_check`; returns "ok" for a healthy file.
    public func integrityCheck() throws(StoreError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    static func checkIsSQLite(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }  // an empty file becomes a new database
        if header != Data("SQLite format 3\u{0}".utf8) {
            throw StoreError(.notADatabase, path: path, "the file does not start with the SQLite header")
        }
    }

    static func mapErrors<T>(_ path: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                throw StoreError(.notADatabase, path: path, error.message ?? "\(error)",
                                 sqliteCode: error.extendedResultCode.rawValue)
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw StoreError(.locked, path: path, error.message ?? "\(error)",
                                 sqliteCode: error.extendedResultCode.rawValue)
            default:
                throw StoreError(.sqlite, path: path, "\(error)", sqliteCode: error.extendedResultCode.rawValue)
            }
        } catch {
            throw StoreError(.sqlite, path: path, "\(error)")
        }
    }
}
