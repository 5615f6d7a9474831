import BatonProtocol
import Foundation
import GRDB
import Store
import Supervisor
import Testing

@Suite("History recorded by baton serve", .serialized, .timeLimit(.minutes(3)))
struct HistoryServeTests {
    func database(_ serve: ManagedServe) throws -> HistoryDatabase {
        try HistoryDatabase.openReadOnly(path: serve.stateDir + "/baton.sqlite")
    }

    func waitForRows(_ serve: ManagedServe, _ what: String, _ condition: (HistoryDatabase) throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let database = try? database(serve), (try? condition(database)) == true { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting until \(what)")
    }

    @Test("N requests make exactly N rows with consistent timestamps, worker and generation")
    func everyRequestRecorded() throws {
        let serve = try ManagedServe(workers: 2)
        let status = serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let workerIDs = Set(status?.slots.compactMap(\.workerID) ?? [])
        let (benchStatus, output) = try runBaton(["bench", "--frontend", serve.frontend, "--clients", "4", "--window",
                                                  "4", "--total", "500"], directory: serve.directory)
        #expect(benchStatus == 0, "\(output)")
        let live = serve.waitForStatus("history written") { ($0.history?.requestRows ?? 0) >= 500 }
        #expect(live?.history?.droppedEvents == 0 && live?.history?.failedBatches == 0)
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
        let database = try database(serve)
        let rows = try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM request ORDER BY id") }
        #expect(rows.count == 500)
        #expect(Set(rows.map { $0["status"] as String }) == ["replied"])
        #expect(Set(rows.compactMap { $0["worker_id"] as String? }) == workerIDs)
        #expect(Set(rows.map { $0["generation"] as Int? }) == [1])
        for row in rows {
            // Optional reads: a NULL must fail the expectation, not crash the whole test process.
            let received: String? = row["received_at"]
            let dispatched: String? = row["dispatched_at"]
            let replied: String? = row["replied_at"]
            guard let received, let dispatched, let replied else {
                Issue.record("request \(row["id"] as Int64? ?? -1) lacks a timestamp: \(row)")
                continue
            }
            #expect(received <= dispatched && dispatched <= replied)
            let wait: Int64? = row["wait_us"]
            let total: Int64? = row["total_us"]
            #expect(wait != nil && total != nil && wait! <= total!, "\(row)")
            #expect((row["request_bytes"] as Int?) == 64 && (row["reply_bytes"] as Int?) == 64)
        }
        #expect(try database.integrityCheck() == "ok")
    }

    @Test("a worker killed mid-request leaves its request failed with worker-died, attributed to that worker")
    func killedWorkerRequest() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--work-ms", "2000"])
        let status = serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let victim = try #require(status?.slots.first)
        let context = try ZeroMQContextHolder()
        let client = try context.request(serve.frontend, "doomed")
        try waitForRows(serve, "request in flight") { database in
            try HistoryQueries.history(HistoryFilter(), in: database).first?.status == "in_flight"
        }
        kill(try #require(victim.pid), SIGKILL)
        let reply = try client.receive()?.frames.map { String(decoding: $0, as: UTF8.self) }
        #expect(reply?.prefix(2) == ["BATON-ERR", "worker-died"])
        try waitForRows(serve, "request failed") { database in
            let row = try HistoryQueries.history(HistoryFilter(), in: database).first
            return row?.status == "failed" && row?.error == "worker-died" && row?.workerID == victim.workerID
        }
        try waitForRows(serve, "worker exit recorded") { database in
            let worker = try HistoryQueries.workers(limit: 10, in: database).first { $0.workerID == victim.workerID }
            return worker?.exitSignal == 9 && worker?.exitReason == "crashed"
        }
        client.close()
    }

    @Test("after a supervisor SIGKILL mid-load, a restart closes in-flight rows as abandoned; the file is intact")
    func abandonedAfterKill() throws {
        let serve = try ManagedServe(workers: 2, command: [Harness.exampleWorkerPath, "--work-ms", "300"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let bench = try Child.baton(["bench", "--frontend", serve.frontend, "--clients", "6", "--duration", "5",
                                     "--warmup", "0"], name: "bench", directory: serve.directory)
        try waitForRows(serve, "requests open") { database in
            try database.read { try Int.fetchOne($0, sql: """
                SELECT count(*) FROM request WHERE status IN ('queued', 'in_flight')
                """) ?? 0 } >= 4
        }
        serve.child.signal(SIGKILL)
        _ = serve.child.wait()
        bench.signal(SIGKILL)
        let open = try database(serve).read { try Int.fetchOne($0, sql: """
            SELECT count(*) FROM request WHERE status IN ('queued', 'in_flight')
            """) ?? 0 }
        #expect(open >= 1)
        let restarted = try Child.baton(["serve", "--frontend", "ipc://\(serve.directory)/fe2", "--state-dir",
                                         serve.stateDir, "--workers", "0"], name: "restart", directory: serve.directory)
        #expect(restarted.waitForOutput("serving"), "\(restarted.output)")
        #expect(restarted.output.contains("open rows are now abandoned"))
        let database = try database(serve)
        let counts = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM request GROUP BY status")
                .reduce(into: [String: Int]()) { $0[$1["status"]] = $1["n"] }
        }
        #expect(counts["queued"] == nil && counts["in_flight"] == nil)
        #expect(counts["abandoned"] == open)
        #expect(try database.integrityCheck() == "ok")
        restarted.signal(SIGTERM)
        #expect(restarted.wait() == 0)
    }

    @Test("""
        a database that is not SQLite: serve says so by name and serves, leaves the file alone, and records once \
        it is moved aside
        """)
    func corruptDatabase() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let path = state + "/baton.sqlite"
        let garbage = Data("this is not a database, it is a text file that happens to be here\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        let serve = try Child.baton(["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", state,
                                     "--workers", "0"], directory: directory)
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        #expect(serve.output.contains("\(path) is not a Baton history database"), "\(serve.output)")
        #expect(serve.output.contains("move it aside (mv \(path) \(path).bad) to start a new one, or run serve with "
                                      + "--no-history"), "\(serve.output)")
        let degraded = waitForStatus("history degraded", stateDir: state, directory: directory, log: serve) {
            $0.history?.state == .degraded
        }
        #expect(degraded?.history?.problem?.contains("\(path) is not a Baton history database") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".bad")
        waitForStatus("history resumes", stateDir: state, directory: directory, log: serve) {
            $0.history?.state == .ok
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".bad")) == garbage)
        let kinds = try HistoryDatabase.openReadOnly(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT kind FROM event ORDER BY id")
        }
        #expect(kinds == ["supervisor-started", "supervisor-stopped"])
    }

    @Test("a locked database: serve says so, naming the file, serves, and records once the lock goes")
    func lockedDatabase() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        _ = try HistoryDatabase.openForWriting(path: state + "/baton.sqlite")
        let locker = try Child("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            time.sleep(30)
            """, state + "/baton.sqlite"], name: "locker", directory: directory)
        defer { locker.signal(SIGKILL) }
        #expect(locker.waitForOutput("locked"))
        let serve = try Child.baton(["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", state,
                                     "--workers", "0"], directory: directory)
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        #expect(serve.output.contains("\(state)/baton.sqlite is locked by another process"), "\(serve.output)")
        waitForStatus("history degraded", stateDir: state, directory: directory, log: serve) {
            $0.history?.problem?.contains("locked by another process") == true
        }
        locker.signal(SIGKILL)
        _ = locker.wait()
        waitForStatus("history resumes", stateDir: state, directory: directory, seconds: 30, log: serve) {
            $0.history?.state == .ok
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }
}

import ZeroMQ

/// A context and REQ sockets for one test, closed in order.
final class ZeroMQContextHolder {
    let context: Context
    var sockets: [Socket] = []

    init() throws { context = try Context() }

    func request(_ endpoint: String, _ body: String) throws -> Socket {
        let socket = try Socket(context, .req)
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 10_000)
        try socket.connect(endpoint)
        try socket.send(frame: Array(body.utf8))
        sockets.append(socket)
        return socket
    }

    deinit {
        for socket in sockets { socket.close() }
        context.terminate()
    }
}
