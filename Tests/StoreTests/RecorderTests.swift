import BatonProtocol
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import Store

@Suite("The history recorder against a real SQLite file")
struct RecorderTests {
    let ms: UInt64 = 1_000_000

    func open() throws -> HistoryDatabase {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.beginRun(executable: "/bin/worker", arguments: ["-x"], sha256: "ab", detail: "test")
        return database
    }

    func write(_ events: [HistoryEvent], _ writer: inout HistoryWriter, _ database: HistoryDatabase) throws {
        _ = try database.write { db in try writer.apply(events, in: db) }
    }

    @Test("a request received, dispatched and answered in one batch is one complete row")
    func oneBatch() throws {
        let database = try open()
        var writer = HistoryWriter()
        try write([
            .workerSpawned(workerID: WorkerID("w1"), slot: 1, pid: 99, generation: GenerationID(1), at: .zero),
            .workerReady(workerID: WorkerID("w1"), at: Instant(nanoseconds: 1 * ms)),
            .requestReceived(id: RequestID(7), client: ClientID(routingID: [0, 0xab]), bytes: 64, at: Instant(nanoseconds: 10 * ms)),
            .requestDispatched(id: RequestID(7), worker: WorkerID("w1"), attempt: 1, at: Instant(nanoseconds: 12 * ms)),
            .requestReplied(id: RequestID(7), bytes: 60, at: Instant(nanoseconds: 15 * ms)),
        ], &writer, database)
        let row = try #require(try HistoryQueries.history(HistoryFilter(), in: database).first)
        #expect(row.id == 7 && row.client == "00ab" && row.workerID == "w1" && row.slot == 1)
        #expect(row.generation == 1 && row.status == "replied" && row.attempts == 1)
        #expect(row.waitMicroseconds == 2000 && row.totalMicroseconds == 5000)
        #expect(row.requestBytes == 64 && row.replyBytes == 60)
        #expect(row.receivedAt < row.dispatchedAt! && row.dispatchedAt! < row.repliedAt!)
    }

    @Test("a request is visible while queued and in flight, and completed by later batches")
    func acrossBatches() throws {
        let database = try open()
        var writer = HistoryWriter()
        try write([.workerReady(workerID: WorkerID("ext"), at: .zero),
                   .requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 3, at: Instant(nanoseconds: 5 * ms))],
                  &writer, database)
        #expect(try HistoryQueries.history(HistoryFilter(), in: database).first?.status == "queued")
        try write([.requestDispatched(id: RequestID(1), worker: WorkerID("ext"), attempt: 1, at: Instant(nanoseconds: 6 * ms))], &writer,
                  database)
        let inFlight = try HistoryQueries.history(HistoryFilter(), in: database).first
        #expect(inFlight?.status == "in_flight" && inFlight?.waitMicroseconds == 1000 && inFlight?.slot == nil)
        try write([.requestFailed(id: RequestID(1), code: .workerDied, at: Instant(nanoseconds: 9 * ms)),
                   .workerLost(workerID: WorkerID("ext"), reason: .unreachable, at: Instant(nanoseconds: 9 * ms))], &writer, database)
        let failed = try HistoryQueries.history(HistoryFilter(), in: database).first
        #expect(failed?.status == "failed" && failed?.error == "worker-died" && failed?.totalMicroseconds == 4000)
        #expect(try HistoryQueries.workers(limit: 5, in: database).first?.exitReason == "unreachable")
    }

    @Test("a worker whose routing id starts with a zero byte, as ZeroMQ generates them, is recorded with its requests")
    func generatedRoutingID() throws {
        let database = try open()
        var writer = HistoryWriter()
        let id: [UInt8] = [0x00, 0xe4, 0x3c, 0x98, 0x69]
        // The broker names such a worker `ext-HEX` in its events; the writer names the dispatch's bytes the same.
        try write([.workerReady(workerID: WorkerID(routingID: id), at: .zero),
                   .requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
                   .requestDispatched(id: RequestID(1), worker: WorkerID(routingID: id), attempt: 1,
                                      at: .zero)], &writer, database)
        #expect(try HistoryQueries.history(HistoryFilter(), in: database).first?.workerID == "ext-00e43c9869")
        #expect(try HistoryQueries.workers(limit: 5, in: database).map(\.workerID) == ["ext-00e43c9869"])
    }

    @Test("when the backlog is full, request events are dropped and counted; worker events are kept")
    func backlogDrops() throws {
        let database = try open()
        var options = HistoryRecorder.Options()
        options.maxBacklog = 10
        options.flushIntervalMilliseconds = 60_000
        let recorder = HistoryRecorder(database: database, options: options, logger: Logger(label: "test"))
        // The writer cannot take pending events while the gate is held, so the backlog is full for the second
        // batch however the threads are scheduled.
        recorder.writerGate.withLock { _ in
            var first = (1...10).map { HistoryEvent.requestReceived(id: RequestID(UInt64($0)),
                                                                    client: ClientID(routingID: [1]), bytes: 1, at: .zero) }
            recorder.submit(&first)
            #expect(first.isEmpty)
            var second: [HistoryEvent] = [.requestReceived(id: RequestID(11), client: ClientID(routingID: [1]),
                                                           bytes: 1, at: .zero),
                                          .workerReady(workerID: WorkerID("kept"), at: .zero)]
            recorder.submit(&second)
            #expect(recorder.stats.droppedEvents == 1)
        }
        let stats = recorder.close()
        #expect(stats.droppedEvents == 1)
        #expect(stats.requestRows == 10)
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM request") } == 10)
        #expect(try HistoryQueries.workers(limit: 5, in: database).map(\.workerID) == ["kept"])
    }

    @Test("retention by row count removes the oldest finished requests")
    func retentionByCount() throws {
        let database = try open()
        var writer = HistoryWriter()
        var events: [HistoryEvent] = [.workerReady(workerID: WorkerID("w"), at: .zero)]
        for id in UInt64(1)...100 {
            events += [.requestReceived(id: RequestID(id), client: ClientID(routingID: [1]), bytes: 1, at: Instant(nanoseconds: id * ms)),
                       .requestDispatched(id: RequestID(id), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: id * ms)),
                       .requestReplied(id: RequestID(id), bytes: 1, at: Instant(nanoseconds: id * ms + 1))]
        }
        events.append(.requestReceived(id: RequestID(101), client: ClientID(routingID: [1]), bytes: 1, at: Instant(nanoseconds: 200 * ms)))
        try write(events, &writer, database)
        let retention = HistoryRetention(maxRows: 10)
        let removed = try database.write { db in try retention.prune(db, nowNanoseconds: BatonClock.wall()) }
        #expect(removed == 91)
        let ids = try database.read { try Int64.fetchAll($0, sql: "SELECT id FROM request ORDER BY id") }
        #expect(ids == Array(92...101))
    }

    @Test("retention by age removes finished requests received before the cutoff, and keeps open ones")
    func retentionByAge() throws {
        let database = try open()
        _ = try database.write { db in
            try db.execute(sql: """
                INSERT INTO request (id, client, status, received_at, request_bytes) VALUES
                  (1, 'aa', 'replied', '2020-01-01T00:00:00.000000Z', 1),
                  (2, 'aa', 'in_flight', '2020-01-01T00:00:01.000000Z', 1),
                  (3, 'aa', 'failed', '2020-01-01T00:00:02.000000Z', 1),
                  (4, 'aa', 'replied', ?, 1)
                """, arguments: [Timestamp.now()])
        }
        let removed = try database.write { db in
            try HistoryRetention(maxAgeSeconds: 86400).prune(db, nowNanoseconds: BatonClock.wall())
        }
        #expect(removed == 2)
        #expect(try database.read { try Int64.fetchAll($0, sql: "SELECT id FROM request ORDER BY id") } == [2, 4])
    }

    @Test("a restart closes open rows as abandoned and continues request ids; the same command keeps its generation")
    func beginRunAbandons() throws {
        let path = temporaryDatabasePath()
        let database = try HistoryDatabase.openForWriting(path: path)
        let first = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        var writer = HistoryWriter()
        try write([.workerSpawned(workerID: WorkerID("w"), slot: 1, pid: 5, generation: GenerationID(1), at: .zero),
                   .requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
                   .requestReceived(id: RequestID(2), client: ClientID(routingID: [1]), bytes: 1, at: .zero),
                   .requestDispatched(id: RequestID(2), worker: WorkerID("w"), attempt: 1, at: .zero)], &writer, database)
        let second = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "aa", detail: "")
        #expect(first.generation == 1 && second.generation == 1)
        #expect(second.abandonedRequests == 2 && second.abandonedWorkers == 1 && second.firstRequestID == 3)
        #expect(try HistoryQueries.history(HistoryFilter(), in: database).map(\.status) == ["abandoned", "abandoned"])
        let third = try database.beginRun(executable: "/bin/w", arguments: [], sha256: "bb", detail: "")
        #expect(third.generation == 2)
        #expect(try HistoryQueries.generations(in: database).map(\.state) == ["active", "retired"])
    }
}

@Suite("The recorder when the disk is full")
struct RecorderFullDiskTests {
    @Test("a write that fails for lack of space is counted, logged and kept, and written once there is room again")
    func fullDisk() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        // The writer connection may not grow the file past its current size: SQLITE_FULL, as on a full disk.
        _ = try database.write { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        var options = HistoryRecorder.Options()
        options.flushIntervalMilliseconds = 10
        options.retryInitialSeconds = 0.02
        options.retryMaxSeconds = 0.1
        let recorder = HistoryRecorder(database: database, options: options, logger: Logger(label: "test"))
        var events: [HistoryEvent] = (1...5000).map {
            .requestReceived(id: RequestID(UInt64($0)), client: ClientID(routingID: Array(repeating: 7, count: 32)),
                             bytes: 100, at: Instant(nanoseconds: UInt64($0)))
        }
        recorder.submit(&events)
        try waitUntil("a write failed") { recorder.stats.failedBatches >= 1 }
        let failing = recorder.stats
        #expect(failing.state == .degraded && failing.problem?.contains("full") == true, "\(failing)")
        #expect(failing.waitingEvents >= 5000)
        var more: [HistoryEvent] = [.supervisor(kind: .supervisorStarted, slot: nil, workerID: nil, generation: nil,
                                                detail: nil, at: Instant(nanoseconds: 1))]
        recorder.submit(&more)
        _ = try database.write { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try waitUntil("the kept events are written") {
            recorder.stats.state == .ok && recorder.stats.waitingEvents == 0
        }
        let stats = recorder.close()
        #expect(stats.failedBatches >= 1)
        #expect(stats.lostEvents == 0)
        #expect(stats.batches >= 1, "the kept batch and the one after the failure were written")
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM request") } == 5000)
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM event WHERE kind = 'supervisor-started'") }
                == 1)
    }
}

/// Polls `condition` every 10 ms for up to `seconds`; records an issue and throws on timeout.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.01)
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}
