import BatonProtocol
import Foundation
import GRDB
import Broker
import Store
import Supervisor
import Testing

@testable import BatonCLI

/// A history database with fixed content, built through the real schema.
func fixtureDatabase() throws -> (HistoryDatabase, String) {
    let directory = try Harness.temporaryDirectory()
    let path = directory + "/baton.sqlite"
    let database = try HistoryDatabase.openForWriting(path: path)
    _ = try database.write { db in
        try db.execute(sql: """
            INSERT INTO generation VALUES
              (1, '/opt/game/match-server', '["--map","arena"]', 'aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff',
               '2026-11-20T10:00:00.000000Z', 'retired', 'superseded at start'),
              (2, '/opt/game/match-server', '[]', '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
               '2026-11-21T09:30:00.000000Z', 'active', NULL);
            INSERT INTO worker (worker_id, slot, generation, pid, spawned_at, ready_at, exited_at, exit_code,
                                exit_signal, exit_reason) VALUES
              ('r1-1-1', 1, 1, 4101, '2026-11-20T10:00:00.100000Z', '2026-11-20T10:00:00.150000Z',
               '2026-11-21T09:30:01.000000Z', 0, NULL, 'stopped'),
              ('r2-1-2', 1, 2, 4202, '2026-11-21T09:30:00.100000Z', '2026-11-21T09:30:00.140000Z',
               '2026-11-21T09:31:00.000000Z', NULL, 9, 'crashed'),
              ('ext-a', NULL, NULL, NULL, NULL, '2026-11-21T09:30:05.000000Z', NULL, NULL, NULL, NULL);
            INSERT INTO request (id, client, worker_id, generation, attempts, status, error, received_at,
                                 dispatched_at, replied_at, wait_us, total_us, request_bytes, reply_bytes) VALUES
              (1, '00aa', 'r1-1-1', 1, 1, 'replied', NULL, '2026-11-20T10:01:00.000000Z',
               '2026-11-20T10:01:00.000200Z', '2026-11-20T10:01:00.001500Z', 200, 1500, 64, 64),
              (2, '00aa', 'r1-1-1', 1, 1, 'replied', NULL, '2026-11-20T10:01:01.000000Z',
               '2026-11-20T10:01:01.000100Z', '2026-11-20T10:01:01.002100Z', 100, 2100, 64, 64),
              (3, '00bb', 'r2-1-2', 2, 1, 'failed', 'worker-died', '2026-11-21T09:30:59.000000Z',
               '2026-11-21T09:30:59.000300Z', '2026-11-21T09:31:00.000100Z', 300, 1000100, 12, NULL),
              (4, '00bb', 'ext-a', NULL, 1, 'in_flight', NULL, '2026-11-21T09:31:02.000000Z',
               '2026-11-21T09:31:02.000050Z', NULL, 50, NULL, 8, NULL),
              (5, '00cc', NULL, NULL, 0, 'abandoned', NULL, '2026-11-21T09:31:03.000000Z', NULL, NULL, NULL, NULL,
               8, NULL);
            """)
    }
    return (database, directory)
}

/// The golden files, next to this source file.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden")

/// Compares `text` with the golden file `name` (a path under golden/), byte for byte; BATON_UPDATE_GOLDEN=1
/// rewrites the file first.
func expectGolden(_ name: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = goldenDirectory.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["BATON_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    #expect(text == golden, "\(name) differs from its golden file:\n\(text)", sourceLocation: sourceLocation)
}

@Suite("Golden output of history, generations and workers")
struct GoldenOutputTests {

    func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    @Test("history: table and JSON")
    func history() throws {
        let (database, directory) = try fixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = try HistoryQueries.history(HistoryFilter(), in: database)
        #expect(records.map(\.id) == [5, 4, 3, 2, 1])
        try expectGolden("history.txt", HistoryCommand.table(records))
        try expectGolden("history.json", try json(records))
        var failedOnly = HistoryFilter()
        failedOnly.status = "failed"
        #expect(try HistoryQueries.history(failedOnly, in: database).map(\.id) == [3])
        var slotAndGeneration = HistoryFilter()
        slotAndGeneration.slot = 1
        slotAndGeneration.generation = 1
        slotAndGeneration.since = "2026-11-20T10:01:01"
        #expect(try HistoryQueries.history(slotAndGeneration, in: database).map(\.id) == [2])
    }

    @Test("generations: table and JSON, with error rates and percentiles")
    func generations() throws {
        let (database, directory) = try fixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generations = try HistoryQueries.generations(in: database)
        #expect(generations.map(\.requests) == [1, 2])
        #expect(generations.first?.errorRate == 1.0)
        #expect(generations.last?.p50Microseconds == 2100)
        try expectGolden("generations.txt", GenerationsCommand.table(generations))
        try expectGolden("generations.json", try json(generations))
    }

    @Test("workers: table")
    func workers() throws {
        let (database, directory) = try fixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let workers = try HistoryQueries.workers(limit: 10, in: database)
        #expect(workers.map(\.replied) == [0, 0, 2])
        try expectGolden("workers.txt", WorkersCommand.table(workers))
    }

    @Test("status: table, including failed slots, requests in flight per worker, external workers and history")
    func status() throws {
        var broker = BrokerStats()
        broker.queueDepth = 3
        broker.inFlight = 2
        broker.sessionsOpen = 14
        broker.idleWorkers = 0
        broker.requestsReceived = 1234
        broker.errorReplies = 5
        var history = RecorderStats()
        history.requestRows = 1229
        var report = StatusReport(
            pid: 4242, command: "/opt/game/server --map arena",
            slots: [
                {
                    var pipelined = SlotStatus(slot: 1, state: .ready, pid: 5001, workerID: "r-1-9", generation: 2,
                                               uptimeSeconds: 3725, restarts: 1, lastExit: "signal 9", failure: nil,
                                               served: 610)
                    pipelined.inFlight = 2
                    pipelined.capacity = 32
                    pipelined.sessions = 14
                    return pipelined
                }(),
                SlotStatus(slot: 2, state: .failed, pid: nil, workerID: nil, generation: 2, uptimeSeconds: nil,
                           restarts: 5, lastExit: "exit 1", failure: "crashed 6 times within 60 s; last: exit 1",
                           served: 0),
                SlotStatus(slot: 3, state: .backoff, pid: nil, workerID: nil, generation: 2, uptimeSeconds: nil,
                           restarts: 2, lastExit: "signal 6", failure: nil, served: 0),
                {
                    var reloading = SlotStatus(slot: 4, state: .ready, pid: 5004, workerID: "r-4-4", generation: 2,
                                               uptimeSeconds: 42, restarts: 0, lastExit: nil, failure: nil, served: 12)
                    reloading.incomingGeneration = 3
                    reloading.incomingPid = 5010
                    reloading.capacity = 1
                    return reloading
                }(),
            ],
            broker: broker, history: history)
        report.externalWorkers = [ExternalWorkerStatus(id: "edge-7", inFlight: 5, capacity: 8, served: 77)]
        try expectGolden("status.txt", StatusTable(report).render())
    }

    @Test("baton history reads the file with no supervisor running, and reports a missing database")
    func commandLine() throws {
        let (_, directory) = try fixtureDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, output) = try runBaton(["history", "--state-dir", directory, "--limit", "2"], directory: directory)
        #expect(status == 0)
        #expect(output.split(separator: "\n").count == 3, "\(output)")
        let (missing, message) = try runBaton(["generations", "--state-dir", directory + "/nowhere"],
                                              directory: directory)
        #expect(missing == 1)
        #expect(message.contains("no history database at \(directory)/nowhere/baton.sqlite"), "\(message)")
    }
}
