import BatonProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import Store

@Suite("Retention by size, and the default bound")
struct RetentionSizeTests {
    @Test("retention parses sizes in decimal and binary units, ages, rows, and none; the default is 7 days or 1 GiB")
    func parsing() {
        #expect(HistoryRetention(parsing: "500MB") == HistoryRetention(maxBytes: 500_000_000))
        #expect(HistoryRetention(parsing: "2GiB") == HistoryRetention(maxBytes: 2 << 30))
        #expect(HistoryRetention(parsing: "1.5 kib") == HistoryRetention(maxBytes: 1536))
        #expect(HistoryRetention(parsing: "7d,1GiB,1000") == HistoryRetention(maxAgeSeconds: 7 * 86400, maxRows: 1000,
                                                                            maxBytes: 1 << 30))
        #expect(HistoryRetention(parsing: "30m") == HistoryRetention(maxAgeSeconds: 1800), "m alone is minutes")
        #expect(HistoryRetention(parsing: "none") == HistoryRetention.none)
        #expect(HistoryRetention(parsing: "none")?.keepsEverything == true)
        #expect(HistoryRetention(parsing: "0MB") == nil)
        #expect(HistoryRetention(parsing: "5 parsecs") == nil)
        #expect(HistoryRetention(parsing: "") == nil)
        #expect(HistoryRetention.standard == HistoryRetention(parsing: "7d,1GiB"))
        #expect(ByteSize.format(1 << 30) == "1.0 GiB" && ByteSize.format(512) == "512 B")
        #expect(ByteSize.format(12_900_000) == "12.3 MiB")
    }

    @Test("retention by size prunes the oldest finished requests until the used pages are under the bound")
    func pruneBySize() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        var writer = HistoryWriter()
        let rows = 40_000
        var events: [HistoryEvent] = [.workerReady(workerID: WorkerID("w"), at: .zero)]
        for id in UInt64(1)...UInt64(rows) {
            events += [.requestReceived(id: RequestID(id),
                                        client: ClientID(routingID: Array(repeating: UInt8(id & 0xff),
                                                                          count: 16)), bytes: 64,
                                        at: Instant(nanoseconds: id)),
                       .requestDispatched(id: RequestID(id), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: id + 1)),
                       .requestReplied(id: RequestID(id), bytes: 64, at: Instant(nanoseconds: id + 2))]
        }
        events.append(.requestReceived(id: RequestID(1_000_000), client: ClientID(routingID: [1]), bytes: 1,
                                       at: .zero))  // open: never pruned
        _ = try database.write { db in try writer.apply(events, in: db) }
        let before = try database.size()
        let bound: Int64 = 4 << 20
        #expect(before.usedBytes > 2 * bound, "the test needs a file well over the bound: \(before)")
        let retention = HistoryRetention(maxBytes: bound)
        var removed = 0
        var passes = 0
        while case let count = try database.write({ db in try retention.prune(db, nowNanoseconds: BatonClock.wall()) }),
              count > 0 {
            removed += count
            passes += 1
            #expect(passes < 1000)
        }
        let after = try database.size()
        #expect(after.usedBytes <= bound && after.usedBytes > bound * 3 / 4, "it stops near the bound: \(after)")
        #expect(after.fileBytes >= before.usedBytes, "SQLite keeps the freed pages for reuse")
        let kept = try database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM request ORDER BY id") }
        #expect(kept.count == rows + 1 - removed)
        #expect(kept.last == 1_000_000 && kept.dropLast().last == Int64(rows), "the newest rows are kept")
        #expect(kept.first! > 1, "the oldest rows went first")
    }

    @Test("a writer that keeps writing holds the size bound: over it, the next turn prunes at least what was written")
    func recorderHoldsBound() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        let bound: Int64 = 2 << 20
        var options = HistoryRecorder.Options()
        options.flushIntervalMilliseconds = 10
        options.retention = HistoryRetention(maxBytes: bound)
        options.pruneIntervalSeconds = 3600  // only the size measured after each write can start a pass
        options.sizeIntervalSeconds = 0
        let recorder = HistoryRecorder(database: database, options: options, logger: Logger(label: "test"))
        recorder.record(.workerReady(workerID: WorkerID("w"), at: .zero))
        var id: UInt64 = 0
        for _ in 0..<60 {
            var batch: [HistoryEvent] = []
            for _ in 0..<1000 {
                id += 1
                let client = ClientID(routingID: Array(repeating: 9, count: 16))
                batch += [.requestReceived(id: RequestID(id), client: client, bytes: 64, at: Instant(nanoseconds: id)),
                          .requestDispatched(id: RequestID(id), worker: WorkerID("w"), attempt: 1, at: Instant(nanoseconds: id + 1)),
                          .requestReplied(id: RequestID(id), bytes: 64, at: Instant(nanoseconds: id + 2))]
            }
            recorder.submit(&batch)
            try waitUntil("the batch is written") { recorder.stats.waitingEvents == 0 }
        }
        let stats = recorder.close()
        let size = try database.size()
        #expect(stats.requestRows == 60_000 && stats.prunedRows > 40_000, "\(stats)")
        #expect(size.usedBytes <= bound + (512 << 10), "over the bound by at most about one batch: \(size)")
    }
}
