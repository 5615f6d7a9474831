import BatonProtocol
import Foundation
import Testing

@testable import Store

/// `worker.exit_reason` has one vocabulary, whoever ends the worker; a failed generation is never reused.
@Suite("Worker exit reasons and generation reuse in a real SQLite file")
struct WorkerExitVocabularyTests {
    let ms: UInt64 = 1_000_000

    func write(_ events: [HistoryEvent], _ writer: inout HistoryWriter, _ database: HistoryDatabase) throws {
        _ = try database.write { db in try writer.apply(events, in: db) }
    }

    @Test("every loss the broker reports is stored as a worker exit reason, never as free text")
    func lossesUseTheExitVocabulary() throws {
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        _ = try database.beginRun(executable: "/bin/worker", arguments: [], sha256: "ab", detail: "test")
        var writer = HistoryWriter()
        let losses: [(String, WorkerLossReason)] = [
            ("silent", .silent(window: .milliseconds(3000))), ("slow", .requestTimedOut(timeout: .seconds(5))),
            ("gone", .unreachable), ("leaver", .disconnected),
            ("replaced", .processEnded(.replaced, ProcessExit(code: 0))),
        ]
        for (index, (name, reason)) in losses.enumerated() {
            let worker = WorkerID(name), at = UInt64(index) * ms
            let events: [HistoryEvent] = [.workerReady(workerID: worker, at: Instant(nanoseconds: at)),
                                          .workerLost(workerID: worker, reason: reason, at: Instant(nanoseconds: at + ms))]
            try write(events, &writer, database)
        }
        let stored = Dictionary(uniqueKeysWithValues: try HistoryQueries.workers(limit: 10, in: database)
            .map { ($0.workerID, $0.exitReason) })
        #expect(stored == ["silent": "hung", "slow": "hung", "gone": "unreachable", "leaver": "disconnected",
                           "replaced": "replaced"])
        let vocabulary = Set(WorkerExitReason.allCases.map(\.rawValue))
        #expect(stored.values.allSatisfy { $0.map(vocabulary.contains) == true })
        // A managed worker the broker dropped as hung gets its process's reason once it is reaped.
        try write([.workerExited(workerID: WorkerID("silent"), code: nil, signal: 9, reason: .hung, at: Instant(nanoseconds: 9 * ms))], &writer,
                  database)
        #expect(try HistoryQueries.workers(limit: 10, in: database).first { $0.workerID == "silent" }?.exitReason
                == "hung")
    }

    @Test("the words of a loss are unchanged where requests' answers carry them")
    func lossWords() {
        #expect(WorkerLossReason.silent(window: .milliseconds(3000)).description == "no heartbeat for more than 3000 ms")
        #expect(WorkerLossReason.requestTimedOut(timeout: .seconds(2)).description == "request ran past 2000 ms")
        #expect(WorkerLossReason.processEnded(.crashed, ProcessExit(signal: 9)).description
                == "process ended (signal 9)")
        #expect(WorkerLossReason.processEnded(.replaced, ProcessExit(code: 0)).description
                == "process ended (exit 0, replaced)")
    }

    @Test("only a failed generation is never taken again; a state the release does not know is not either")
    func reuseRule() {
        #expect(GenerationState.allCases.filter(\.isReusable) == [.active, .rolling, .retired])
        #expect(GenerationState.isReusable(stored: "retired"))
        #expect(!GenerationState.isReusable(stored: "failed"))
        #expect(!GenerationState.isReusable(stored: "quarantined") && !GenerationState.isReusable(stored: nil))
    }
}
