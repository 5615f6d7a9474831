import BatonProtocol
import Foundation
import GRDB
import Store
import Testing

@testable import BatonCLI

/// A history database with fixed sessions, built through the real schema: two lifetimes of `room-7` (one
/// ended, one open after a move), a key that is not text, sessions on an external worker, one ended by idleness.
func sessionFixtureDatabase() throws -> (HistoryDatabase, String) {
    let directory = try Harness.temporaryDirectory()
    let database = try HistoryDatabase.openForWriting(path: directory + "/baton.sqlite")
    _ = try database.write { db in
        try db.execute(sql: """
            INSERT INTO generation (id, executable, arguments, sha256, created_at, state) VALUES
              (1, '/opt/game/room-server', '[]', 'aa', '2026-11-21T09:00:00.000000Z', 'retired'),
              (2, '/opt/game/room-server', '[]', 'bb', '2026-11-21T10:05:30.000000Z', 'active');
            INSERT INTO worker (worker_id, slot, generation, pid, spawned_at, exited_at, exit_reason) VALUES
              ('r1-1-1', 1, 1, 4101, '2026-11-21T09:00:00.100000Z', '2026-11-21T10:05:40.000000Z', 'replaced'),
              ('r2-1-2', 1, 2, 4202, '2026-11-21T10:05:30.100000Z', NULL, NULL),
              ('r2-2-3', 2, 2, 4203, '2026-11-21T10:05:31.100000Z', NULL, NULL),
              ('ext-a', NULL, NULL, NULL, NULL, NULL, NULL);
            INSERT INTO session (id, key, worker_id, generation, opened_at, ended_at, end_reason, requests, moves)
            VALUES
              (1, 'room-7', 'r1-1-1', 1, '2026-11-21T10:00:00.000000Z', '2026-11-21T10:05:00.000000Z', 'ended', 12, 0),
              (2, 'player-9', 'r2-2-3', 2, '2026-11-21T09:59:00.000000Z', '2026-11-21T10:00:30.000000Z', 'idle', 1, 0),
              (3, 'lobby', 'r2-1-2', 2, '2026-11-21T10:01:00.000000Z', NULL, NULL, NULL, 1),
              (4, 'match-42', 'ext-a', NULL, '2026-11-21T10:02:00.000000Z', '2026-11-21T10:03:00.000000Z', 'lost', 3, 0),
              (5, 'room-7', 'r2-1-2', 2, '2026-11-21T10:06:00.000000Z', NULL, NULL, NULL, 1),
              (6, x'00ff41', 'r2-2-3', 2, '2026-11-21T10:07:00.000000Z', NULL, NULL, NULL, 0);
            INSERT INTO request (id, client, status, received_at, request_bytes, session) VALUES
              (1, '00aa', 'replied', '2026-11-21T10:04:00.000000Z', 8, 'room-7'),
              (2, '00aa', 'replied', '2026-11-21T10:05:59.000000Z', 8, 'room-7'),
              (3, '00aa', 'replied', '2026-11-21T10:06:30.000000Z', 8, 'room-7'),
              (4, '00bb', 'in_flight', '2026-11-21T10:07:01.000000Z', 8, x'00ff41'),
              (5, '00cc', 'replied', '2026-11-21T10:07:02.000000Z', 8, NULL);
            """)
    }
    return (database, directory)
}

@Suite("baton sessions", .serialized, .timeLimit(.minutes(2)))
struct SessionsCommandTests {
    @Test("open sessions per worker, and every session with how it ended: tables and JSON match their golden files")
    func golden() throws {
        let (database, directory) = try sessionFixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let open = try HistoryQueries.sessions(SessionFilter(), in: database)
        #expect(open.sessions.map(\.id) == [3, 5, 6] && open.matching == 3)
        #expect(open.sessions.map(\.requests) == [0, 2, 1], "requests recorded since the key's previous session")
        try expectGolden("sessions.txt", SessionsCommand.table(open.sessions, all: false))
        try expectGolden("sessions.json", try GoldenOutputTests().json(open.sessions))
        var everything = SessionFilter()
        everything.includeEnded = true
        let all = try HistoryQueries.sessions(everything, in: database)
        #expect(all.sessions.map(\.id) == [4, 1, 3, 5, 2, 6])
        try expectGolden("sessions-all.txt", SessionsCommand.table(all.sessions, all: true))

        // The command prints the same, reading the file with no supervisor running.
        let (status, text) = try runBaton(["sessions", "--state-dir", directory], directory: directory)
        #expect(status == 0)
        #expect(text == (try golden("sessions.txt")))
        let (jsonStatus, jsonText) = try runBaton(["sessions", "--json", "--state-dir", directory],
                                                  directory: directory)
        #expect(jsonStatus == 0)
        #expect(jsonText == (try golden("sessions.json")))
        let (allStatus, allText) = try runBaton(["sessions", "--all", "--state-dir", directory], directory: directory)
        #expect(allStatus == 0)
        #expect(allText == (try golden("sessions-all.txt")))
    }

    @Test("--key (text or x'HEX'), --worker and --limit, which says what it left out")
    func filters() throws {
        let (_, directory) = try sessionFixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func rows(_ arguments: [String]) throws -> [[String]] {
            let (status, output) = try runBaton(["sessions", "--state-dir", directory] + arguments, directory: directory)
            #expect(status == 0, "\(output)")
            return output.split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
        }
        #expect(try rows(["--key", "x'00FF41'"]).map { $0[3] } == ["x'00ff41'"])
        #expect(try rows(["--key", "room-7", "--all"]).map { $0[0] } == ["r1-1-1", "r2-1-2"])
        #expect(try rows(["--worker", "r2-2-3", "--all"]).map { $0[3] } == ["player-9", "x'00ff41'"])
        #expect(try rows(["--worker", "nobody"]).isEmpty)
        let (status, output) = try runBaton(["sessions", "--state-dir", directory, "--limit", "2"], directory: directory)
        #expect(status == 0)
        #expect(output.contains("showing the newest 2 of 3 sessions; --limit N for more"), "\(output)")
        #expect(output.contains("room-7") && output.contains("x'00ff41'") && !output.contains("lobby"), "\(output)")
        let (usage, message) = try runBaton(["sessions", "--state-dir", directory, "--limit", "0"], directory: directory)
        #expect(usage == ExitStatus.usage, "\(message)")
    }

    @Test("a database the recorder writes: open sessions while it runs, ended as shutdown after it stops")
    func recordedDatabase() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try HistoryDatabase.openForWriting(path: directory + "/baton.sqlite")
        _ = try database.beginRun(executable: "/opt/game/room-server", arguments: [], sha256: "aa", detail: "test")
        let recorder = HistoryRecorder(database: database)
        let worker = WorkerID("w-1")
        var events: [HistoryEvent] = [.workerSpawned(workerID: WorkerID("w-1"), slot: 1, pid: 77, generation: GenerationID(1), at: .zero)]
        let keys = [Array("alpha".utf8), [0x00, 0x01], Array("gone".utf8)].map { SessionKey(bytes: $0) }
        for (index, key) in keys.enumerated() {
            let at = UInt64(index + 1)
            let id = RequestID(at)
            events += [.requestReceived(id: id, client: ClientID(routingID: [1]), bytes: 4, at: Instant(nanoseconds: at)),
                       .requestSession(id: id, key: key), .sessionOpened(key: key, worker: worker, at: Instant(nanoseconds: at + 1)),
                       .requestDispatched(id: id, worker: worker, attempt: 1, at: Instant(nanoseconds: at + 1)),
                       .requestReplied(id: id, bytes: 1, at: Instant(nanoseconds: at + 2))]
        }
        events.append(.sessionEnded(key: SessionKey(bytes: Array("gone".utf8)), worker: worker, reason: .idle, requests: 1, at: Instant(nanoseconds: 10)))
        recorder.submit(&events)
        let written = DispatchSemaphore(value: 0)
        recorder.flush { written.signal() }
        #expect(written.wait(timeout: .now() + 10) == .success)

        let (status, output) = try runBaton(["sessions", "--json", "--state-dir", directory], directory: directory)
        #expect(status == 0, "\(output)")
        let open = try JSONDecoder().decode([SessionRecord].self, from: Data(output.utf8))
        #expect(open.map(\.displayKey) == ["alpha", "x'0001'"])
        #expect(open.map(\.key) == ["alpha", nil] && open.map(\.keyHex) == ["616c706861", "0001"])
        #expect(open.allSatisfy { $0.workerID == "w-1" && $0.slot == 1 && $0.generation == 1 && $0.requests == 1 })
        #expect(open.allSatisfy { $0.endedAt == nil && $0.endReason == nil })

        recorder.close()
        let (allStatus, table) = try runBaton(["sessions", "--all", "--state-dir", directory], directory: directory)
        #expect(allStatus == 0, "\(table)")
        let lines = table.split(separator: "\n")
        #expect(lines.first?.split(separator: " ") == ["WORKER", "SLOT", "GEN", "KEY", "OPENED", "ENDED", "HOW",
                                                       "REQUESTS", "MOVES"], "\(table)")
        let how = lines.dropFirst().map { $0.split(separator: " ").map(String.init) }
        #expect(how.map { $0[3] } == ["alpha", "x'0001'", "gone"], "\(table)")
        #expect(how.map { $0[6] } == ["shutdown", "shutdown", "idle"], "\(table)")
    }

    @Test("an empty database shows no sessions; a missing, corrupt or locked one is an error naming the file, exit 1")
    func emptyAndBadDatabases() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (missing, missingText) = try runBaton(["sessions", "--state-dir", directory], directory: directory)
        #expect(missing == ExitStatus.unhealthy)
        #expect(missingText.contains("no history database at \(directory)/baton.sqlite"), "\(missingText)")

        let path = directory + "/baton.sqlite"
        _ = try HistoryDatabase.openForWriting(path: path)
        let (empty, emptyText) = try runBaton(["sessions", "--state-dir", directory], directory: directory)
        #expect(empty == 0)
        #expect(emptyText == "WORKER  SLOT  GEN  KEY  OPENED  REQUESTS  MOVES\n")
        let (emptyJSON, emptyJSONText) = try runBaton(["sessions", "--json", "--state-dir", directory],
                                                      directory: directory)
        #expect(emptyJSON == 0)
        #expect(emptyJSONText == "[\n\n]\n", "\(emptyJSONText)")

        let locker = try Child("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("PRAGMA locking_mode = EXCLUSIVE")
            c.execute("BEGIN EXCLUSIVE")
            c.execute("SELECT count(*) FROM session").fetchall()
            print("locked", flush=True)
            time.sleep(30)
            """, path], name: "locker", directory: directory)
        defer { locker.signal(SIGKILL) }
        #expect(locker.waitForOutput("locked"))
        let (locked, lockedText) = try runBaton(["sessions", "--state-dir", directory], directory: directory)
        #expect(locked == ExitStatus.unhealthy, "\(lockedText)")
        #expect(lockedText.contains("\(path) is locked by another process"), "\(lockedText)")
        locker.signal(SIGKILL)
        _ = locker.wait()

        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        let (corrupt, corruptText) = try runBaton(["sessions", "--state-dir", directory], directory: directory)
        #expect(corrupt == ExitStatus.unhealthy)
        #expect(corruptText.contains("\(path) is not a Baton history database, or it is corrupt"), "\(corruptText)")
    }

    func golden(_ name: String) throws -> String {
        try String(contentsOf: goldenDirectory.appendingPathComponent(name), encoding: .utf8)
    }
}
