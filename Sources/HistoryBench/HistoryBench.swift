import BatonProtocol
import Foundation
import GRDB
import Logging
import Store

/// `baton-history-bench`: measures the history recorder's sustained write rate, and builds a large database
/// to time the history queries on.
///
///     baton-history-bench writer [REQUESTS] [DB]     push REQUESTS requests' events through the recorder
///     baton-history-bench fill ROWS DB               fill a database with ROWS finished requests
@main
struct HistoryBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        switch arguments.count > 1 ? arguments[1] : "" {
        case "writer":
            let requests = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
            let path = arguments.count > 3 ? arguments[3] : NSTemporaryDirectory() + "history-bench-\(getpid()).sqlite"
            try writer(requests: requests, path: path)
        case "fill":
            guard arguments.count > 3, let rows = Int(arguments[2]) else { usage() }
            try fill(rows: rows, path: arguments[3])
        default:
            usage()
        }
    }

    static func usage() -> Never {
        print("usage: baton-history-bench writer [REQUESTS] [DB] | fill ROWS DB")
        exit(2)
    }

    /// Submits events in the broker's pattern (received, dispatched, replied per request, handed over in
    /// batches of 64 events) as fast as possible, then waits for the recorder to finish.
    static func writer(requests: Int, path: String) throws {
        let database = try HistoryDatabase.openForWriting(path: path)
        let run = try database.beginRun(executable: "/bench/worker", arguments: [], sha256: "00", detail: "bench")
        var options = HistoryRecorder.Options()
        options.maxBacklog = 50_000_000
        let recorder = HistoryRecorder(database: database, options: options, logger: Logger(label: "bench"))
        var batch: [HistoryEvent] = [
            .workerSpawned(workerID: WorkerID("bench-1"), slot: 1, pid: 1, generation: GenerationID(run.generation ?? 1), at: .zero),
            .workerReady(workerID: WorkerID("bench-1"), at: .zero),
        ]
        let worker = WorkerID("bench-1")
        let client = ClientID(routingID: [0, 1, 2, 3, 4])
        let started = Date()
        var now = Instant.now()
        for index in 0..<requests {
            let id = RequestID(run.firstRequestID + UInt64(index))
            now += .microseconds(1)
            batch.append(.requestReceived(id: id, client: client, bytes: 64, at: now))
            batch.append(.requestDispatched(id: id, worker: worker, attempt: 1, at: now + TimeSpan(nanoseconds: 100)))
            batch.append(.requestReplied(id: id, bytes: 64, at: now + TimeSpan(nanoseconds: 300)))
            if batch.count >= 64 { recorder.submit(&batch) }
        }
        recorder.submit(&batch)
        let submitted = Date().timeIntervalSince(started)
        let stats = recorder.close()
        let elapsed = Date().timeIntervalSince(started)
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
        let wal = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size]) as? Int) ?? 0
        print(String(format: "requests=%d seconds=%.2f requests_per_s=%.0f submit_seconds=%.2f batches=%d "
                     + "write_seconds=%.2f dropped=%d failed_batches=%d db_mib=%.1f wal_mib=%.1f bytes_per_request=%.0f",
                     requests, elapsed, Double(requests) / elapsed, submitted, stats.batches,
                     Double(stats.writeNanoseconds) / 1e9, stats.droppedEvents, stats.failedBatches,
                     Double(size) / 1_048_576, Double(wal) / 1_048_576, Double(size) / Double(max(requests, 1))))
    }

    /// Fills a database with finished requests quickly (one INSERT … SELECT over a recursive CTE).
    static func fill(rows: Int, path: String) throws {
        let database = try HistoryDatabase.openForWriting(path: path)
        let run = try database.beginRun(executable: "/bench/worker", arguments: [], sha256: "00", detail: "fill")
        let started = Date()
        _ = try database.write { db in
            try db.execute(sql: """
                INSERT INTO worker (worker_id, slot, generation, pid, spawned_at, ready_at)
                VALUES ('fill-1', 1, ?, 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')
                ON CONFLICT(worker_id) DO NOTHING
                """, arguments: [run.generation])
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
                INSERT INTO request (id, client, worker_id, generation, attempts, status, received_at, dispatched_at,
                    replied_at, wait_us, total_us, request_bytes, reply_bytes)
                SELECT ? + i, '0001020304', 'fill-1', ?, 1, CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'replied' END,
                    strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i / 1000.0, 'unixepoch'),
                    strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i / 1000.0, 'unixepoch'),
                    strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i / 1000.0, 'unixepoch'),
                    100 + i % 50, 300 + i % 1000, 64, 64
                FROM n
                """, arguments: [rows, Int64(run.firstRequestID), run.generation])
        }
        print(String(format: "filled rows=%d seconds=%.1f", rows, Date().timeIntervalSince(started)))
    }
}
