import Foundation
import GRDB
import Testing

@testable import Store

func temporaryDatabasePath() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("baton.sqlite").path
}

/// The schema of a database as text: every table, index and trigger's SQL, sorted by name.
func schemaDump(_ db: Database) throws -> [String] {
    try String.fetchAll(db, sql: """
        SELECT type || ' ' || name || ': ' || sql FROM sqlite_master
        WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY name
        """)
}

@Suite("History schema and migrations")
struct SchemaTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../schema").standardizedFileURL

    @Test("the database the code creates matches schema/*.sql exactly")
    func codeMatchesSchemaFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.schemaDirectory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == HistorySchema.migrations.map { $0.identifier + ".sql" })
        let fromFiles = try DatabaseQueue()
        try fromFiles.write { db in
            for file in files {
                try db.execute(sql: String(contentsOf: Self.schemaDirectory.appendingPathComponent(file),
                                           encoding: .utf8))
            }
        }
        let path = temporaryDatabasePath()
        let database = try HistoryDatabase.openForWriting(path: path)
        let created = try database.read(schemaDump)
        #expect(created == (try fromFiles.read(schemaDump)))
        #expect(created.count >= 4)
        for (identifier, sql) in HistorySchema.migrations {
            let file = try String(contentsOf: Self.schemaDirectory.appendingPathComponent(identifier + ".sql"),
                                  encoding: .utf8)
            #expect(file == sql, "schema/\(identifier).sql and the migration in code differ")
        }
    }

    /// How a database left by an older Baton is made: an empty file, or each prefix of the migrations applied
    /// ("version 0": none, "version 1": the first, …, up to all of them).
    static var olderDatabases: [(name: String, make: (String) throws -> Void)] {
        let identifiers = HistorySchema.migrations.map(\.identifier)
        var makers: [(name: String, make: (String) throws -> Void)] = [("an empty file", { path in
            _ = FileManager.default.createFile(atPath: path, contents: Data())
        })]
        for count in 0...identifiers.count {
            makers.append(("version \(count)", { path in
                let queue = try DatabaseQueue(path: path)
                if count == 0 {
                    try DatabaseMigrator().migrate(queue)
                } else {
                    try HistorySchema.migrator.migrate(queue, upTo: identifiers[count - 1])
                }
                try queue.close()
            }))
        }
        return makers
    }

    @Test("a database at every older migration, an empty file included, migrates to the schema of a fresh one")
    func migratesFromEveryOlderVersion() throws {
        let identifiers = HistorySchema.migrations.map(\.identifier)
        let fresh = try HistoryDatabase.openForWriting(path: temporaryDatabasePath()).read(schemaDump)
        #expect(fresh.count >= 4)
        let older = Self.olderDatabases
        #expect(older.map(\.name) == ["an empty file"] + (0...identifiers.count).map { "version \($0)" })
        for (index, (name, make)) in older.enumerated() {
            let path = temporaryDatabasePath()
            try make(path)
            if index == 0 {
                #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
            } else {
                let before = try DatabaseQueue(path: path)
                let applied = try before.read { try HistorySchema.migrator.appliedIdentifiers($0) }
                try before.close()
                #expect(applied == Set(identifiers.prefix(index - 1)), "\(name) was made as asked")
            }
            let database = try HistoryDatabase.openForWriting(path: path)
            let applied = try database.read { try HistorySchema.migrator.appliedIdentifiers($0) }
            #expect(applied == Set(identifiers), "\(name)")
            #expect(try database.read(schemaDump) == fresh, "\(name) migrated to a different schema")
        }
        // Opening again is harmless.
        let path = temporaryDatabasePath()
        _ = try HistoryDatabase.openForWriting(path: path)
        #expect(try HistoryDatabase.openForWriting(path: path).read(schemaDump) == fresh)
    }

    @Test("a database from a newer Baton is refused by name and left untouched")
    func newerSchemaRefused() throws {
        let path = temporaryDatabasePath()
        _ = try HistoryDatabase.openForWriting(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        }
        try queue.close()
        #expect {
            _ = try HistoryDatabase.openForWriting(path: path)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .newerSchema && error.description.contains(path)
                && error.description.contains("9999_from_the_future")
        }
        #expect(throws: StoreError.self) { _ = try HistoryDatabase.openReadOnly(path: path) }
    }

    @Test("a file that is not SQLite is refused by name and not modified")
    func notADatabase() throws {
        let path = temporaryDatabasePath()
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try garbage.write(to: URL(fileURLWithPath: path))
        for open in [{ _ = try HistoryDatabase.openForWriting(path: path) },
                     { _ = try HistoryDatabase.openReadOnly(path: path) }] as [() throws -> Void] {
            #expect {
                try open()
            } throws: { error in
                (error as? StoreError)?.code == .notADatabase && "\(error)".contains(path)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }

    @Test("a missing file is a clear error for the read-only commands")
    func missingFile() {
        #expect { _ = try HistoryDatabase.openReadOnly(path: "/nonexistent/baton.sqlite") } throws: { error in
            (error as? StoreError)?.code == .missing
        }
    }

    @Test("an executable's digest is its SHA-256, read in chunks larger and smaller than the file")
    func executableDigest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-digest-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let vectors: [(Data, String)] = [
            (Data(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Data("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Data(repeating: 0x61, count: 3_000_000), "2a152c894398719c0570f83fac34ac03a0f6e8e474b995c2403aa5434f7b9dd4"),
        ]
        for (index, (contents, digest)) in vectors.enumerated() {
            let file = directory.appendingPathComponent("file-\(index)")
            try contents.write(to: file)
            #expect(try ExecutableDigest.hexDigest(ofFile: file.path) == digest)
        }
        #expect(throws: (any Error).self) {
            try ExecutableDigest.hexDigest(ofFile: directory.appendingPathComponent("none").path)
        }
    }

    @Test("retention parses ages, row counts and both")
    func retentionParsing() {
        #expect(HistoryRetention(parsing: "7d") == HistoryRetention(maxAgeSeconds: 7 * 86400))
        #expect(HistoryRetention(parsing: "1000000") == HistoryRetention(maxRows: 1_000_000))
        #expect(HistoryRetention(parsing: "12h,500") == HistoryRetention(maxAgeSeconds: 43200, maxRows: 500))
        #expect(HistoryRetention(parsing: "soon") == nil)
        #expect(HistoryRetention(parsing: "0") == nil)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("the caching formatter agrees with the plain one, across second boundaries and before 1970")
    func formatterAgrees() {
        var formatter = TimestampFormatter()
        var value: Int64 = 1_764_021_600_999_999_000
        for step: Int64 in [0, 1000, 1, 999_999_999, 123_456_789_000, -2_000_000_000_000_000_000] {
            value += step
            #expect(formatter.format(value) == Timestamp.iso(nanoseconds: value))
        }
        #expect(Timestamp.iso(nanoseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.iso(nanoseconds: 1_764_021_600_123_456_789) == "2025-11-24T22:00:00.123456Z")
    }
}
