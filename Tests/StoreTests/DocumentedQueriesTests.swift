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
        #expect(queries.count == 5)
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
}
