import BatonProtocol
import Foundation
import GRDB
import Store
import Supervisor
import Testing

@Suite("History never stops serving, and leaves no row open", .serialized, .timeLimit(.minutes(4)))
struct HistoryDegradedTests {
    func openRows(_ database: HistoryDatabase) throws -> Int {
        try database.read { try Int.fetchOne($0, sql: """
            SELECT count(*) FROM request WHERE status IN ('queued', 'in_flight')
            """) ?? -1 }
    }

    func statuses(_ database: HistoryDatabase) throws -> [String: Int] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM request GROUP BY status")
                .reduce(into: [String: Int]()) { $0[$1["status"]] = $1["n"] }
        }
    }

    @Test("a restart on a full disk serves and says history is degraded; once space is freed, history resumes",
          .enabled(if: SmallDisk.available, "mounting a small tmpfs needs root"))
    func restartOnFullDisk() throws {
        let disk = try SmallDisk(megabytes: 4)
        let first = try ServeOnState(directory: disk.directory, stateDir: disk.state, name: "first")
        first.waitForStatus("ready") { $0.slots.first?.state == .ready }
        try first.bench(50)
        first.stop()
        disk.fill()
        let serve = try ServeOnState(directory: disk.directory, stateDir: disk.state, name: "second")
        let degraded = serve.waitForStatus("ready, history degraded") {
            $0.slots.first?.state == .ready && $0.history?.state == .degraded
        }
        #expect(degraded?.history?.problem?.contains("\(disk.state)/baton.sqlite") == true)
        #expect(degraded?.history?.problem?.contains("free disk space") == true)
        #expect(serve.child.output.contains("error"), "said loudly in the log")
        #expect(serve.child.output.contains("history is degraded"), "\(serve.child.output)")
        try serve.bench(30)
        let (textStatus, text) = try runBaton(["status", "--state-dir", disk.state], directory: disk.directory)
        #expect(textStatus == 0 && text.contains("history: DEGRADED: "), "\(text)")
        disk.free()
        serve.waitForStatus("history resumes, nothing waiting") {
            $0.history?.state == .ok && $0.history?.waitingEvents == 0
        }
        try serve.bench(20)
        serve.waitForStatus("the new requests written") { ($0.history?.requestRows ?? 0) >= 50 }
        serve.stop()
        let database = try HistoryDatabase.openReadOnly(path: disk.state + "/baton.sqlite")
        #expect(try statuses(database) == ["replied": 100])
        let generation = degraded?.slots.first?.generation.number
        let secondRun = try database.read { db in
            try Int?.fetchAll(db, sql: "SELECT DISTINCT generation FROM request WHERE id > 50")
        }
        #expect(secondRun == [generation], "requests of the degraded run carry its generation")
        let generations = try HistoryQueries.generations(in: database)
        #expect(generations.contains { $0.id == generation && $0.state == "active" })
        #expect(try database.integrityCheck() == "ok")
    }

    @Test("a disk that fills while serving keeps the failed writes and writes them once space is back",
          .enabled(if: SmallDisk.available, "mounting a small tmpfs needs root"))
    func diskFillsWhileServing() throws {
        let disk = try SmallDisk(megabytes: 8)
        let serve = try ServeOnState(directory: disk.directory, stateDir: disk.state, name: "serve")
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        try serve.bench(100)
        serve.waitForStatus("first requests written") { ($0.history?.requestRows ?? 0) >= 100 }
        disk.fill()
        var sent = 100
        // The write-ahead log may have room for a little more; send until a write fails (it does at once here).
        for _ in 0..<5 {
            try serve.bench(2000)
            sent += 2000
            let after = serve.waitForStatus("written, or a write failed") {
                ($0.history?.failedBatches ?? 0) > 0 || $0.history?.waitingEvents == 0
            }
            if (after?.history?.failedBatches ?? 0) > 0 { break }
        }
        let failing = serve.waitForStatus("writes fail, history degraded") { $0.history?.state == .degraded }
        #expect((failing?.history?.failedBatches ?? 0) >= 1)
        #expect(failing?.history?.problem?.contains("full") == true, "\(String(describing: failing?.history))")
        disk.free()
        let resumed = serve.waitForStatus("history resumes, nothing waiting") {
            $0.history?.state == .ok && $0.history?.waitingEvents == 0
        }
        #expect(resumed?.history?.lostEvents == 0 && resumed?.history?.droppedEvents == 0)
        serve.stop()
        let database = try HistoryDatabase.openReadOnly(path: disk.state + "/baton.sqlite")
        #expect(try statuses(database) == ["replied": sent])
    }

    @Test("after a graceful stop no row is queued or in flight, even with a request held past the drain timeout")
    func gracefulStopClosesRows() throws {
        let serve = try ManagedServe(workers: 1, options: ["--drain-timeout", "0.3", "--stop-grace", "0.5"],
                                     command: [Harness.exampleWorkerPath, "--work-ms", "4000"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let context = try ZeroMQContextHolder()
        for index in 0..<3 { _ = try context.request(serve.frontend, "slow \(index)") }
        let path = serve.stateDir + "/baton.sqlite"
        try waitForRows("one in flight, two queued", path: path) { database in
            try statuses(database) == ["in_flight": 1, "queued": 2]
        }
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait(seconds: 30) == 0)
        let database = try HistoryDatabase.openReadOnly(path: path)
        let counts = try statuses(database)
        #expect(try openRows(database) == 0, "\(counts)")
        #expect(counts.values.reduce(0, +) == 3)
    }

    @Test("status shows the database's size on disk and in use")
    func statusShowsSize() throws {
        let serve = try ManagedServe(workers: 1)
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        _ = try serve.call("hello")
        let status = serve.waitForStatus("size measured") { ($0.history?.usedBytes ?? 0) > 0 }
        #expect((status?.history?.fileBytes ?? 0) >= (status?.history?.usedBytes ?? 1))
        #expect(status?.history?.state == .ok)
        let (code, text) = try runBaton(["status", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(code == 0)
        #expect(text.contains(" on disk, ") && text.contains(" used, "), "\(text)")
    }

    @Test("generations run right after reload exits 0 shows the new generation active, five times in a row")
    func reloadThenGenerations() throws {
        let serve = try ManagedServe(workers: 1)
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        for round in 1...5 {
            let (status, output) = try runBaton(["reload", "--state-dir", serve.stateDir], directory: serve.directory,
                                                seconds: 60)
            #expect(status == 0, "\(output)")
            let (listed, json) = try runBaton(["generations", "--state-dir", serve.stateDir, "--json"],
                                              directory: serve.directory)
            #expect(listed == 0)
            let generations = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
            let newest = generations?.first
            #expect(newest?["id"] as? Int == round + 1 && newest?["state"] as? String == "active", "\(json)")
        }
    }

    /// Polls the database (read-only) until `condition` holds, up to 15 s.
    func waitForRows(_ what: String, path: String, _ condition: (HistoryDatabase) throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let database = try? HistoryDatabase.openReadOnly(path: path), (try? condition(database)) == true {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting until \(what)")
    }
}
