import BatonProtocol
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import Store

/// Recorder options that write every 10 ms and retry within a tenth of a second.
let fastRetry: HistoryRecorder.Options = {
    var options = HistoryRecorder.Options()
    options.flushIntervalMilliseconds = 10
    options.retryInitialSeconds = 0.02
    options.retryMaxSeconds = 0.1
    return options
}()

@Suite("History that cannot be written: kept, retried, closed at the stop")
struct RecorderResilienceTests {
    let logger = Logger(label: "test")

    func count(_ database: HistoryDatabase, _ sql: String) throws -> Int {
        try database.read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    @Test("after close() no request row is queued or in flight: answered ones keep their outcome, others are abandoned")
    func closeAbandonsOpenRows() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        let recorder = HistoryRecorder(database: database, options: fastRetry, logger: logger)
        var events: [HistoryEvent] = [
            .workerSpawned(workerID: WorkerID("w"), slot: 1, pid: 5, generation: GenerationID(1), at: .zero),
            .requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
            .requestReceived(id: RequestID(2), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
            .requestDispatched(id: RequestID(2), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: 1)),
            .requestReceived(id: RequestID(3), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
        ]
        recorder.submit(&events)
        try waitUntil("the open rows are written") {
            try count(database, "SELECT count(*) FROM request WHERE status IN ('queued', 'in_flight')") == 3
        }
        var answer: [HistoryEvent] = [.requestDispatched(id: RequestID(3), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: 2)),
                                      .requestReplied(id: RequestID(3), bytes: 1, at: Instant(nanoseconds: 3))]
        recorder.submit(&answer)
        recorder.close()
        let statuses = try database.read { try String.fetchAll($0, sql: "SELECT status FROM request ORDER BY id") }
        #expect(statuses == ["abandoned", "abandoned", "replied"])
    }

    @Test("a flush barrier runs once the events submitted before it are committed, readable from another connection")
    func flushBarrier() throws {
        let path = temporaryDatabasePath()
        let database = try HistoryDatabase.openForWriting(path: path)
        _ = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        var options = HistoryRecorder.Options()
        options.flushIntervalMilliseconds = 60_000  // only the barrier makes the writer write
        let recorder = HistoryRecorder(database: database, options: options, logger: logger)
        defer { recorder.close() }
        for round in 1...5 {
            recorder.record(.generationState(id: GenerationID(1), state: round.isMultiple(of: 2) ? .active : .rolling, reason: nil,
                                             at: .zero))
            let seen = Mutex<String?>(nil)
            let done = DispatchSemaphore(value: 0)
            recorder.flush {
                let reader = try? HistoryDatabase.openReadOnly(path: path)
                let state = try? reader?.read { try String.fetchOne($0, sql: "SELECT state FROM generation") }
                seen.withLock { $0 = state }
                done.signal()
            }
            #expect(done.wait(timeout: .now() + 10) == .success)
            #expect(seen.withLock { $0 } == (round.isMultiple(of: 2) ? "active" : "rolling"))
        }
    }

    @Test("a batch that fails for good (a constraint) is counted as lost, and the batches after it are written")
    func permanentFailure() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        let recorder = HistoryRecorder(database: database, options: fastRetry, logger: logger)
        var bad: [HistoryEvent] = [.workerSpawned(workerID: WorkerID("w"), slot: 1, pid: 5, generation: GenerationID(99), at: .zero)]
        recorder.submit(&bad)
        try waitUntil("the bad batch failed") { recorder.stats.failedBatches == 1 }
        recorder.record(.workerReady(workerID: WorkerID("ext"), at: .zero))
        let stats = recorder.close()
        #expect(stats.lostEvents == 1 && stats.state == .ok)
        #expect(try HistoryQueries.workers(limit: 5, in: database).map(\.workerID) == ["ext"])
    }

    @Test("a recorder that stops while the disk is still full counts what it could not write as lost")
    func stopWhileFull() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.write { db in
            try db.execute(sql: "PRAGMA max_page_count = \(try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1)")
        }
        let recorder = HistoryRecorder(database: database, options: fastRetry, logger: logger)
        var events: [HistoryEvent] = (1...3000).map {
            .requestReceived(id: RequestID(UInt64($0)), client: ClientID(routingID: Array(repeating: 7, count: 32)),
                             bytes: 100, at: .zero)
        }
        recorder.submit(&events)
        try waitUntil("a write failed") { recorder.stats.failedBatches >= 1 }
        let done = DispatchSemaphore(value: 0)
        recorder.flush { done.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success, "a barrier does not wait for a full disk")
        let stats = recorder.close()
        #expect(stats.lostEvents == 3000 && stats.state == .degraded)
    }
}

@Suite("History that cannot be opened at start: degraded, then resumed")
struct HistoryStartupTests {
    let logger = Logger(label: "test")

    @Test("a file that is not SQLite: the recorder starts degraded, keeps events, and writes them once it is moved")
    func notADatabaseThenMovedAside() throws {
        let path = temporaryDatabasePath()
        let garbage = Data("not a database\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        let (recorder, run) = HistoryStartup.start(path: path, executable: "/bin/w", arguments: ["-x"], sha256: "aa",
                                                   detail: "test", options: fastRetry, logger: logger)
        #expect(recorder.stats.state == .degraded)
        #expect(recorder.stats.problem?.contains("\(path) is not a Baton history database") == true)
        #expect(recorder.stats.problem?.contains("move it aside") == true)
        let generation = try #require(run.generation)
        #expect(run.firstRequestID > 1_000_000_000_000_000, "nothing readable: request ids start from the clock")
        let barrier = DispatchSemaphore(value: 0)
        recorder.flush { barrier.signal() }
        #expect(barrier.wait(timeout: .now() + 10) == .success, "a barrier does not wait while degraded")
        var events: [HistoryEvent] = [
            .workerSpawned(workerID: WorkerID("w"), slot: 1, pid: 5, generation: GenerationID(generation), at: .zero),
            .requestReceived(id: RequestID(run.firstRequestID), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
            .requestDispatched(id: RequestID(run.firstRequestID), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: 1)),
            .requestReplied(id: RequestID(run.firstRequestID), bytes: 2, at: Instant(nanoseconds: 2)),
        ]
        recorder.submit(&events)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage, "the file is left as it is")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".bad")
        try waitUntil("history resumes") { recorder.stats.state == .ok && recorder.stats.waitingEvents == 0 }
        recorder.close()
        let database = try HistoryDatabase.openReadOnly(path: path)
        let generations = try HistoryQueries.generations(in: database)
        #expect(generations.map(\.id) == [generation] && generations.map(\.state) == ["active"])
        let rows = try HistoryQueries.history(HistoryFilter(), in: database)
        #expect(rows.map(\.id) == [Int64(run.firstRequestID)] && rows.map(\.status) == ["replied"])
        #expect(rows.first?.generation == generation)
    }

    @Test("a database from a newer Baton: numbers continue from what it holds; the same command keeps its generation")
    func newerSchemaNumbers() throws {
        let path = temporaryDatabasePath()
        let database = try HistoryDatabase.openForWriting(path: path)
        _ = try database.beginRun(executable: "/bin/w", arguments: ["-x"], sha256: "aa", detail: "")
        _ = try database.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, client, status, received_at, request_bytes)
                VALUES (41, 'aa', 'replied', '2020-01-01T00:00:00.000000Z', 1);
                INSERT INTO grdb_migrations (identifier) VALUES ('9999_future');
                """)
        }
        let same = HistoryStartup.degradedRun(path: path, executable: "/bin/w", arguments: ["-x"], sha256: "aa")
        #expect(same.firstRequestID == 42 && same.generation == 1 && same.latestGeneration == 1)
        let other = HistoryStartup.degradedRun(path: path, executable: "/bin/w", arguments: ["-y"], sha256: "aa")
        #expect(other.generation == 2 && other.latestGeneration == 2)
        let (recorder, run) = HistoryStartup.start(path: path, executable: "/bin/w", arguments: ["-x"], sha256: "aa",
                                                   detail: "test", options: fastRetry, logger: logger)
        #expect(run == same)
        let stats = recorder.close()
        #expect(stats.state == .degraded && stats.problem?.contains("newer version of Baton") == true)
    }

    @Test("with no file yet, the numbers start at 1")
    func missingFileNumbers() {
        let run = HistoryStartup.degradedRun(path: temporaryDatabasePath(), executable: "/bin/w", arguments: [],
                                             sha256: "aa")
        #expect(run.firstRequestID == 1 && run.generation == 1)
    }
}
