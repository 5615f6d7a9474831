import BatonProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import Store

@Suite("Sessions in the history database, written by the recorder to a real SQLite file")
struct SessionRecordingTests {
    let ms: UInt64 = 1_000_000
    let room = SessionKey(bytes: Array("room-7".utf8))
    let old = WorkerID("old-1")
    let new = WorkerID("new-1")

    /// A database with generation 1 and 2 workers `old-1` (generation 1) and `new-1` (generation 2).
    func open(_ writer: inout HistoryWriter) throws -> HistoryDatabase {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.beginRun(executable: "/bin/worker", arguments: [], sha256: "ab", detail: "test")
        try write([
            .generationCreated(id: GenerationID(2), executable: "/bin/worker", arguments: [], sha256: "cd", at: .zero),
            .workerSpawned(workerID: WorkerID("old-1"), slot: 1, pid: 10, generation: GenerationID(1), at: .zero),
            .workerSpawned(workerID: WorkerID("new-1"), slot: 1, pid: 11, generation: GenerationID(2), at: .zero),
        ], &writer, database)
        return database
    }

    func write(_ events: [HistoryEvent], _ writer: inout HistoryWriter, _ database: HistoryDatabase) throws {
        _ = try database.write { db in try writer.apply(events, in: db) }
    }

    func rows(_ database: HistoryDatabase, _ sql: String) throws -> [Row] {
        try database.read { try Row.fetchAll($0, sql: sql) }
    }

    /// The events of one request of a session, received, sent to `worker` and answered.
    func request(_ id: UInt64, key: SessionKey, worker: WorkerID, at: Instant) -> [HistoryEvent] {
        [.requestReceived(id: RequestID(id), client: ClientID(routingID: [1]), bytes: 8, at: at),
         .requestSession(id: RequestID(id), key: key),
         .requestDispatched(id: RequestID(id), worker: worker, attempt: 1, at: at + TimeSpan(nanoseconds: 1)),
         .requestReplied(id: RequestID(id), bytes: 1, at: at + TimeSpan(nanoseconds: 2))]
    }

    @Test("an opened session is a row with its worker and generation; its requests carry the key")
    func openedWithRequests() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        try write(request(1, key: room, worker: old, at: Instant(nanoseconds: 10 * ms)) + [.sessionOpened(key: room, worker: old, at: Instant(nanoseconds: 11 * ms))]
                  + request(2, key: room, worker: old, at: Instant(nanoseconds: 20 * ms)), &writer, database)
        let session = try #require(try rows(database, "SELECT * FROM session").first)
        #expect(session["key"] as String == "room-7" && session["worker_id"] as String == "old-1")
        #expect(session["generation"] as Int == 1 && session["moves"] as Int == 0)
        #expect(session["ended_at"] as String? == nil && session["end_reason"] as String? == nil)
        #expect(session["requests"] as Int? == nil, "the count is only known at the end")
        #expect(try rows(database, "SELECT session FROM request ORDER BY id").map { $0["session"] as String } ==
                ["room-7", "room-7"])
        let open = try HistoryQueries.sessions(SessionFilter(), in: database)
        #expect(open.sessions.map(\.requests) == [2] && open.matching == 1, "counted from the request rows")
        #expect(try HistoryQueries.history(HistoryFilter(), in: database).map(\.session) == ["room-7", "room-7"])
    }

    @Test("a session key that comes in a later batch than its request joins the row without changing its status")
    func keyInALaterBatch() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        try write([.requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 8, at: .zero),
                   .requestDispatched(id: RequestID(1), worker: old, attempt: 1, at: Instant(nanoseconds: 1))], &writer, database)
        try write([.requestSession(id: RequestID(1), key: room)], &writer, database)
        let row = try #require(try rows(database, "SELECT status, session FROM request").first)
        #expect(row["status"] as String == "in_flight" && row["session"] as String == "room-7")
        try write([.requestReplied(id: RequestID(1), bytes: 1, at: Instant(nanoseconds: 2))], &writer, database)
        let answered = try #require(try rows(database, "SELECT status, session FROM request").first)
        #expect(answered["status"] as String == "replied" && answered["session"] as String == "room-7")
        #expect(try rows(database, "SELECT id FROM request WHERE session IS NULL").isEmpty)
    }

    @Test("a move gives the session its new worker and generation and counts it; the handoff row has the pause")
    func moved() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        try write([.sessionOpened(key: room, worker: old, at: Instant(nanoseconds: 1 * ms)),
                   .sessionHandoffFailed(key: room, from: old, to: new, reason: "import: no room", at: Instant(nanoseconds: 2 * ms))],
                  &writer, database)
        let stayed = try #require(try rows(database, "SELECT worker_id, generation, moves FROM session").first)
        #expect(stayed["worker_id"] as String == "old-1" && stayed["generation"] as Int == 1 && stayed["moves"] as Int == 0)
        try write([.sessionMoved(key: room, from: old, to: new, pause: TimeSpan(nanoseconds: 2_345_678), at: Instant(nanoseconds: 3 * ms))], &writer, database)
        let session = try #require(try rows(database, "SELECT id, worker_id, generation, moves FROM session").first)
        #expect(session["worker_id"] as String == "new-1" && session["generation"] as Int == 2)
        #expect(session["moves"] as Int == 1)
        let handoffs = try rows(database, "SELECT * FROM handoff ORDER BY id")
        #expect(handoffs.map { $0["outcome"] as String } == ["failed", "moved"])
        #expect(handoffs.allSatisfy { ($0["session"] as Int64) == (session["id"] as Int64) })
        #expect(handoffs.allSatisfy { $0["key"] as String == "room-7" && $0["from_worker"] as String == "old-1" })
        #expect(handoffs.allSatisfy { $0["to_worker"] as String == "new-1" && $0["from_generation"] as Int == 1 })
        #expect(handoffs.allSatisfy { $0["to_generation"] as Int == 2 })
        #expect(handoffs[0]["error"] as String == "import: no room" && handoffs[0]["pause_us"] as Int? == nil)
        #expect(handoffs[1]["pause_us"] as Int == 2345 && handoffs[1]["error"] as String? == nil)
        #expect((handoffs[0]["at"] as String) < (handoffs[1]["at"] as String))
    }

    @Test("an end closes the session with its reason and request count, for every reason")
    func endedForEveryReason() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        for (index, reason) in SessionEndReason.allCases.enumerated() {
            let key = SessionKey(bytes: Array("key-\(index)".utf8))
            try write([.sessionOpened(key: key, worker: old, at: Instant(nanoseconds: UInt64(index) * ms)),
                       .sessionEnded(key: key, worker: old, reason: reason, requests: index + 1,
                                     at: Instant(nanoseconds: UInt64(index) * ms + ms / 2))], &writer, database)
        }
        let ended = try rows(database, "SELECT * FROM session ORDER BY id")
        #expect(ended.map { $0["end_reason"] as String } == SessionEndReason.allCases.map(\.rawValue))
        #expect(ended.map { $0["requests"] as Int } == Array(1...SessionEndReason.allCases.count))
        #expect(ended.allSatisfy { ($0["opened_at"] as String) < ($0["ended_at"] as String) })
        var all = SessionFilter()
        all.includeEnded = true
        #expect(try HistoryQueries.sessions(all, in: database).sessions.map(\.endReason)
                == SessionEndReason.allCases.map(\.rawValue))
        #expect(try HistoryQueries.sessions(SessionFilter(), in: database).sessions.isEmpty)
    }

    @Test("a key that opens again gets a new row; an end closes the newest open row; requests count per lifetime")
    func reopened() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        try write([.sessionOpened(key: room, worker: old, at: Instant(nanoseconds: 1 * ms))]
                  + request(1, key: room, worker: old, at: Instant(nanoseconds: 1 * ms)) + request(2, key: room, worker: old, at: Instant(nanoseconds: 2 * ms))
                  + [.sessionEnded(key: room, worker: old, reason: .lost, requests: 2, at: Instant(nanoseconds: 3 * ms))]
                  + request(3, key: room, worker: new, at: Instant(nanoseconds: 4 * ms)) + [.sessionOpened(key: room, worker: new, at: Instant(nanoseconds: 5 * ms))],
                  &writer, database)
        try write([.sessionEnded(key: SessionKey(bytes: Array("never-opened".utf8)), worker: old, reason: .idle, requests: 1, at: Instant(nanoseconds: 6 * ms))],
                  &writer, database)
        let lifetimes = try rows(database, "SELECT worker_id, end_reason FROM session ORDER BY id")
        #expect(lifetimes.map { $0["worker_id"] as String } == ["old-1", "new-1"])
        #expect(lifetimes.map { $0["end_reason"] as String? } == ["lost", nil])
        var all = SessionFilter()
        all.includeEnded = true
        let found = try HistoryQueries.sessions(all, in: database).sessions
        #expect(found.map(\.workerID) == ["new-1", "old-1"], "ordered by worker")
        #expect(found.map(\.requests) == [1, 2], "the open one counts only its own lifetime's request")
        try write([.sessionEnded(key: room, worker: new, reason: .ended, requests: 1, at: Instant(nanoseconds: 7 * ms))], &writer, database)
        #expect(try rows(database, "SELECT end_reason FROM session ORDER BY id").map { $0["end_reason"] as String }
                == ["lost", "ended"])
    }

    @Test("a key that is not printable UTF-8 is a BLOB in both tables; printable keys are TEXT")
    func blobKeys() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        let binary: [UInt8] = [0x00, 0xff, 0x41]
        let control = Array("a\nb".utf8)
        let accented = Array("salle-é".utf8)
        var events: [HistoryEvent] = []
        for (index, key) in [binary, control, accented].enumerated() {
            events += [.sessionOpened(key: SessionKey(bytes: key), worker: old, at: .zero)] + request(UInt64(index + 1), key: SessionKey(bytes: key), worker: old,
                                                                               at: Instant(nanoseconds: UInt64(index) * ms))
        }
        try write(events, &writer, database)
        let stored = try rows(database, "SELECT typeof(key) AS type, hex(key) AS hex FROM session ORDER BY id")
        #expect(stored.map { $0["type"] as String } == ["blob", "blob", "text"])
        #expect(stored.map { $0["hex"] as String } == ["00FF41", "610A62", "73616C6C652DC3A9"])
        let joined = try rows(database, """
            SELECT count(*) AS n FROM request r JOIN session s ON s.key = r.session
            """)
        #expect(joined.first?["n"] as Int? == 3, "each request matches its session by key")
        let found = try HistoryQueries.sessions(SessionFilter(), in: database).sessions
        #expect(Set(found.map(\.displayKey)) == ["x'00ff41'", "x'610a62'", "salle-é"])
        #expect(Set(found.map(\.key)) == [nil, "salle-é"])
        #expect(found.allSatisfy { $0.requests == 1 })
        var byKey = SessionFilter()
        byKey.keys = SessionKey.keys(displayedAs: "x'00FF41'")
        #expect(try HistoryQueries.sessions(byKey, in: database).sessions.map(\.keyHex) == ["00ff41"])
    }

    @Test("a displayed key names the keys it can stand for")
    func keysDisplayedAs() {
        #expect(SessionKey.keys(displayedAs: "room-7") == [SessionKey(bytes: Array("room-7".utf8))])
        #expect(SessionKey.keys(displayedAs: "x'00'") == [SessionKey(bytes: Array("x'00'".utf8)), SessionKey(bytes: [0])])
        #expect(SessionKey.keys(displayedAs: "x'41'") == [SessionKey(bytes: Array("x'41'".utf8))],
                "the key A is shown as A, never as x'41'")
        #expect(SessionKey.keys(displayedAs: "x'0g'") == [SessionKey(bytes: Array("x'0g'".utf8))])
        #expect(SessionKey.keys(displayedAs: "a\u{1}").isEmpty)
        #expect(SessionKey(bytes: [0xc2, 0x85]).text == nil, "U+0085 is a control character")
    }

    @Test("filters: by key, by worker, and a limit that keeps the newest and says how many match")
    func filters() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        var events: [HistoryEvent] = []
        for index in 1...6 {
            events.append(.sessionOpened(key: SessionKey(bytes: Array("k\(index)".utf8)), worker: index.isMultiple(of: 2) ? new : old,
                                         at: Instant(nanoseconds: UInt64(index) * ms)))
        }
        try write(events, &writer, database)
        var byWorker = SessionFilter()
        byWorker.workerID = "new-1"
        #expect(try HistoryQueries.sessions(byWorker, in: database).sessions.map(\.displayKey) == ["k2", "k4", "k6"])
        var byKey = SessionFilter()
        byKey.keys = SessionKey.keys(displayedAs: "k3")
        #expect(try HistoryQueries.sessions(byKey, in: database).sessions.map(\.workerID) == ["old-1"])
        var limited = SessionFilter()
        limited.limit = 4
        let newest = try HistoryQueries.sessions(limited, in: database)
        #expect(newest.matching == 6)
        #expect(newest.sessions.map(\.displayKey) == ["k4", "k6", "k3", "k5"], "the newest four, per worker")
    }

    @Test("retention removes ended sessions and their handoffs by age and along with their requests; open ones stay")
    func retention() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO session (id, key, worker_id, opened_at, ended_at, end_reason, requests) VALUES
                  (1, 'gone-by-age', 'old-1', '2020-01-01T00:00:00.000000Z', '2020-01-01T00:01:00.000000Z', 'ended', 1),
                  (2, 'open-for-ages', 'old-1', '2020-01-01T00:00:00.000000Z', NULL, NULL, NULL),
                  (3, 'recent', 'new-1', ?, ?, 'idle', 1);
                INSERT INTO handoff (session, key, at, from_worker, to_worker, outcome, pause_us) VALUES
                  (1, 'gone-by-age', '2020-01-01T00:00:30.000000Z', 'old-1', 'new-1', 'moved', 10),
                  (2, 'open-for-ages', '2020-01-01T00:00:30.000000Z', 'old-1', 'new-1', 'moved', 10),
                  (NULL, 'unknown', '2020-01-01T00:00:30.000000Z', 'old-1', 'new-1', 'failed', NULL);
                """, arguments: [Timestamp.now(), Timestamp.now()])
        }
        let removed = try database.write { db in
            try HistoryRetention(maxAgeSeconds: 86400).prune(db, nowNanoseconds: BatonClock.wall())
        }
        #expect(removed == 3, "session 1, its handoff, and the handoff without a session")
        #expect(try rows(database, "SELECT id FROM session ORDER BY id").map { $0["id"] as Int } == [2, 3])
        #expect(try rows(database, "SELECT session FROM handoff").map { $0["session"] as Int } == [2])

        // By row count: the sessions whose requests are all gone go with them.
        try write(request(1, key: SessionKey(bytes: Array("recent".utf8)), worker: new, at: Instant(nanoseconds: 1 * ms))
                  + request(2, key: SessionKey(bytes: Array("later".utf8)), worker: new, at: Instant(nanoseconds: 2 * ms)), &writer, database)
        try database.write { db in
            try db.execute(sql: """
                UPDATE request SET received_at = '2030-01-01T00:00:00.000000Z' WHERE id = 2;
                UPDATE session SET ended_at = '2029-01-01T00:00:00.000000Z' WHERE id = 3;
                """)
        }
        let byCount = try database.write { db in
            try HistoryRetention(maxRows: 1).prune(db, nowNanoseconds: BatonClock.wall())
        }
        #expect(byCount == 2, "request 1, and session 3, which ended before request 2 came")
        #expect(try rows(database, "SELECT id FROM session ORDER BY id").map { $0["id"] as Int } == [2])
    }

    @Test("a start after a supervisor died ends its open sessions as shutdown and says so; ended ones keep their end")
    func startClosesStaleSessions() throws {
        let path = temporaryDatabasePath()
        var writer = HistoryWriter()
        let database = try HistoryDatabase.openForWriting(path: path)
        _ = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        try write([.workerSpawned(workerID: WorkerID("old-1"), slot: 1, pid: 5, generation: GenerationID(1), at: .zero),
                   .sessionOpened(key: room, worker: old, at: Instant(nanoseconds: 1 * ms)),
                   .sessionOpened(key: SessionKey(bytes: [0xff]), worker: old, at: Instant(nanoseconds: 1 * ms)),
                   .sessionOpened(key: SessionKey(bytes: Array("done".utf8)), worker: old, at: Instant(nanoseconds: 1 * ms)),
                   .sessionEnded(key: SessionKey(bytes: Array("done".utf8)), worker: old, reason: .idle, requests: 3,
                                 at: Instant(nanoseconds: 2 * ms))],
                  &writer, database)
        let restarted = try HistoryDatabase.openForWriting(path: path)
        let run = try restarted.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        #expect(run.abandonedSessions == 2 && run.abandonedWorkers == 1)
        let ends = try rows(restarted, "SELECT end_reason, ended_at FROM session ORDER BY id")
        #expect(ends.map { $0["end_reason"] as String } == ["shutdown", "shutdown", "idle"])
        #expect(ends.allSatisfy { $0["ended_at"] as String? != nil })
        let detail = try rows(restarted, "SELECT detail FROM event WHERE kind = 'abandoned'").first?["detail"] as String?
        #expect(detail == "0 requests, 2 sessions and 1 workers left open by a supervisor that did not stop cleanly")
        #expect(try restarted.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "").abandonedSessions
                == 0)
    }

    @Test("through the recorder thread: sessions are written, and a graceful stop ends the open ones as shutdown")
    func recorderCloses() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        let recorder = HistoryRecorder(database: database, options: fastRetry, logger: Logger(label: "test"))
        var events: [HistoryEvent] = [.workerSpawned(workerID: WorkerID("old-1"), slot: 1, pid: 5, generation: GenerationID(1), at: .zero),
                                      .sessionOpened(key: room, worker: old, at: Instant(nanoseconds: 1 * ms))]
            + request(1, key: room, worker: old, at: Instant(nanoseconds: 1 * ms))
            + [.sessionOpened(key: SessionKey(bytes: Array("b".utf8)), worker: old, at: Instant(nanoseconds: 2 * ms)),
               .sessionEnded(key: SessionKey(bytes: Array("b".utf8)), worker: old, reason: .ended, requests: 4, at: Instant(nanoseconds: 3 * ms))]
        recorder.submit(&events)
        try waitUntil("the sessions are written") {
            try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM session") } == 2
        }
        #expect(try HistoryQueries.sessions(SessionFilter(), in: database).sessions.map(\.displayKey) == ["room-7"])
        recorder.close()
        let ends = try rows(database, "SELECT end_reason, requests FROM session ORDER BY id")
        #expect(ends.map { $0["end_reason"] as String } == ["shutdown", "ended"])
        #expect(ends.map { $0["requests"] as Int? } == [nil, 4])
        #expect(try HistoryQueries.sessions(SessionFilter(), in: database).sessions.isEmpty)
    }

    @Test("a database left by the version before sessions keeps its rows and records sessions once migrated")
    func migratesOlderFile() throws {
        let path = temporaryDatabasePath()
        let queue = try DatabaseQueue(path: path)
        try HistorySchema.migrator.migrate(queue, upTo: "0001_initial")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, client, status, received_at, request_bytes)
                VALUES (1, 'aa', 'replied', '2026-11-20T10:00:00.000000Z', 8)
                """)
        }
        try queue.close()
        var writer = HistoryWriter()
        let database = try HistoryDatabase.openForWriting(path: path)
        #expect(try rows(database, "SELECT session FROM request").map { $0["session"] as String? } == [nil])
        let run = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        #expect(run.firstRequestID == 2)
        try write([.workerSpawned(workerID: WorkerID("old-1"), slot: 1, pid: 5, generation: GenerationID(1), at: .zero),
                   .sessionOpened(key: room, worker: old, at: .zero)] + request(2, key: room, worker: old, at: .zero),
                  &writer, database)
        #expect(try HistoryQueries.sessions(SessionFilter(), in: database).sessions.map(\.requests) == [1])
    }

    @Test("the queries behind baton sessions use the indexes, not a scan of the request table")
    func queryPlans() throws {
        var writer = HistoryWriter()
        let database = try open(&writer)
        let details = try database.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT count(*) FROM request r WHERE r.session = 'k' AND r.received_at > ''
                """).map { $0["detail"] as String }
        }
        #expect(details.contains { $0.contains("USING COVERING INDEX request_session") }, "\(details)")
        let open = try database.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT max(id) FROM session WHERE key = 'k' AND ended_at IS NULL
                """).map { $0["detail"] as String }
        }
        #expect(open.contains { $0.contains("INDEX session_key") }, "\(open)")
    }
}
