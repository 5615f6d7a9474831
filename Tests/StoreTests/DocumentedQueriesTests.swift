import Foundation
import GRDB
import Testing

@testable import Store

@Suite("The queries docs/history.md offers")
struct DocumentedQueriesTests {
    /// The ```sql blocks of docs/history.md, in order.
    static func documentedQueries() throws -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/history.md").standardizedFileURL
        let text = try String(contentsOf: path, encoding: .utf8)
        return text.components(separatedBy: "```sql").dropFirst()
            .compactMap { $0.components(separatedBy: "```").first }
    }

    @Test("every query runs on a real history database, and the one labelled median computes the median")
    func queriesRunAndMedianIsAMedian() throws {
        let queries = try Self.documentedQueries()
        #expect(queries.count == 10)
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        let latencies = [1: [30, 10, 1_000, 20], 2: [9, 5, 7]]
        try database.write { db in
            for generation in latencies.keys.sorted() {
                try db.execute(sql: """
                    INSERT INTO generation (id, executable, arguments, sha256, created_at, state)
                    VALUES (?, '/bin/w', '[]', '', '2026-11-20T10:00:00.000000Z', 'active')
                    """, arguments: [generation])
                for (index, total) in latencies[generation]!.enumerated() {
                    try db.execute(sql: """
                        INSERT INTO request (client, generation, attempts, status, received_at, wait_us, total_us,
                                             request_bytes)
                        VALUES ('00', ?, 1, 'replied', ?, 1, ?, 8)
                        """, arguments: [generation, "2026-11-20T10:00:0\(index).000000Z", total])
                }
            }
        }
        for query in queries {
            #expect(throws: Never.self, "\(query)") { _ = try database.read { try Row.fetchAll($0, sql: query) } }
        }
        let median = try #require(queries.first { $0.contains("median_us") })
        let rows = try database.read { try Row.fetchAll($0, sql: median) }
        #expect(rows.map { $0["generation"] as Int } == [1, 2])
        #expect(rows.map { $0["median_us"] as Int } == [20, 7],
                "the lower middle of 10, 20, 30, 1000; the middle of 5, 7, 9")
        #expect(rows.map { $0["max_us"] as Int } == [1_000, 9])
        #expect(rows.map { $0["replied"] as Int } == [4, 3])
    }

    @Test("the session queries answer on a database with sessions, handoffs and binary keys")
    func sessionQueries() throws {
        let queries = try Self.documentedQueries()
        let database = try HistoryDatabase.openForWriting(path: temporaryDatabasePath())
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO generation (id, executable, arguments, sha256, created_at, state) VALUES
                  (1, '/bin/w', '[]', '', '2026-11-20T10:00:00.000000Z', 'retired'),
                  (2, '/bin/w', '[]', '', '2026-11-20T11:00:00.000000Z', 'active');
                INSERT INTO worker (worker_id, slot, generation) VALUES ('r1-1-1', 1, 1), ('r2-1-2', 1, 2);
                INSERT INTO session (id, key, worker_id, generation, opened_at, ended_at, end_reason, requests, moves)
                VALUES
                  (1, 'room-7', 'r1-1-1', 1, '2026-11-20T10:00:00.000000Z', '2026-11-20T10:00:10.000000Z', 'lost', 2, 0),
                  (2, 'room-7', 'r2-1-2', 2, '2026-11-20T10:00:20.000000Z', NULL, NULL, NULL, 1),
                  (3, x'00ff', 'r2-1-2', 2, '2026-11-20T10:00:30.000000Z', NULL, NULL, NULL, 1);
                INSERT INTO request (id, client, status, received_at, request_bytes, session) VALUES
                  (1, '00', 'replied', '2026-11-20T10:00:01.000000Z', 1, 'room-7'),
                  (2, '00', 'failed', '2026-11-20T10:00:09.000000Z', 1, 'room-7'),
                  (3, '00', 'replied', '2026-11-20T10:00:21.000000Z', 1, 'room-7'),
                  (4, '00', 'replied', '2026-11-20T10:00:31.000000Z', 1, x'00ff'),
                  (5, '00', 'replied', '2026-11-20T10:00:32.000000Z', 1, NULL);
                INSERT INTO handoff (session, key, at, from_worker, to_worker, from_generation, to_generation,
                                     outcome, pause_us, error) VALUES
                  (2, 'room-7', '2026-11-20T11:00:01.000000Z', 'r1-1-1', 'r2-1-2', 1, 2, 'moved', 900, NULL),
                  (3, x'00ff', '2026-11-20T11:00:02.000000Z', 'r1-1-1', 'r2-1-2', 1, 2, 'moved', 300, NULL),
                  (3, x'00ff', '2026-11-20T11:00:00.000000Z', 'r1-1-1', 'r2-1-2', 1, 2, 'failed', NULL, 'timeout');
                """)
        }
        for query in queries {
            #expect(throws: Never.self, "\(query)") { _ = try database.read { try Row.fetchAll($0, sql: query) } }
        }
        func run(_ marker: String) throws -> [Row] {
            let query = try #require(queries.first { $0.contains(marker) }, "no query with \(marker)")
            return try database.read { try Row.fetchAll($0, sql: query) }
        }
        let held = try run("worker_id = 'r2-1-2' AND ended_at IS NULL")
        #expect(held.map { $0["key"] as String } == ["room-7", "x'00ff'"])
        let ended = try run("mean_seconds")
        #expect(ended.count == 1 && ended.first?["end_reason"] as String? == "lost")
        #expect(ended.first?["mean_seconds"] as Double? == 10)
        let pauses = try #require(try run("p99_us").first)
        #expect(pauses["moved"] as Int == 2 && pauses["median_us"] as Int == 300)
        #expect(pauses["p99_us"] as Int == 900 && pauses["max_us"] as Int == 900)
        #expect(try run("outcome = 'failed'").map { $0["error"] as String } == ["timeout"])
        let timeline = try run("s.key = 'room-7'")
        #expect(timeline.map { $0["request"] as Int } == [1, 2, 3])
        #expect(timeline.map { $0["session"] as Int } == [1, 1, 2])
    }
}
