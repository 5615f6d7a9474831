import Broker
import Foundation
import GRDB
import Store
import Supervisor
import Testing
import ZeroMQ

/// Request statuses in the history database of a stopped supervisor, with their counts.
func requestStatusCounts(_ stateDir: String) throws -> [String: Int] {
    let database = try HistoryDatabase.openReadOnly(path: stateDir + "/baton.sqlite")
    return try database.read { db in
        try Row.fetchAll(db, sql: """
            SELECT status || COALESCE('/' || error, '') AS s, count(*) AS n FROM request GROUP BY s
            """)
            .reduce(into: [String: Int]()) { $0[$1["s"]] = $1["n"] }
    }
}

@Suite("A graceful stop answers every request it read", .serialized, .timeLimit(.minutes(3)))
struct ShutdownFaultTests {
    @Test("SIGTERM with 1024 requests from 16 DEALER clients, most in ZeroMQ's queues: one reply each, no row open")
    func everyQueuedRequestAnswered() throws {
        let clientCount = 16
        let perClient = 64
        let serve = try ManagedServe(workers: 2, options: ["--max-queued", "100"],
                                     command: [Harness.exampleWorkerPath, "--work-ms", "50"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let context = try Context()
        defer { context.terminate() }
        var clients: [Socket] = []
        defer { for client in clients { client.close() } }
        for index in 0..<clientCount {
            let client = try Socket(context, .dealer)
            client.linger = 0
            try client.setReceiveTimeout(milliseconds: 10_000)
            try client.connect(serve.frontend)
            for request in 0..<perClient {
                let tag = Array("\(index)-\(request)".utf8)
                try client.send(frames: [tag, [], Array("job \(index)-\(request)".utf8)])
            }
            clients.append(client)
        }
        serve.waitForStatus("the broker's queue at its bound") { $0.broker.queueDepth == 100 }
        serve.child.signal(SIGTERM)
        var replies: [String: Int] = [:]
        var outcomes: [String: Int] = [:]
        for client in clients {
            for _ in 0..<perClient {
                guard let frames = try client.receive()?.frames, frames.count >= 3 else { break }
                let tag = String(decoding: frames[0], as: UTF8.self)
                replies[tag, default: 0] += 1
                let body = frames[2...].map { String(decoding: $0, as: UTF8.self) }
                let outcome = body.first == "BATON-ERR" ? body[1] : (body == ["job \(tag)"] ? "answered" : "wrong")
                outcomes[outcome, default: 0] += 1
            }
        }
        #expect(serve.child.wait() == 0, "\(serve.child.output)")
        #expect(replies.count == clientCount * perClient, "every request answered: \(outcomes)")
        #expect(replies.values.allSatisfy { $0 == 1 }, "exactly once")
        #expect(Set(outcomes.keys).isSubset(of: ["answered", "shutting-down"]), "\(outcomes)")
        #expect((outcomes["shutting-down"] ?? 0) > clientCount * perClient / 2)
        let rows = try requestStatusCounts(serve.stateDir)
        #expect(rows.values.reduce(0, +) == clientCount * perClient, "\(rows)")
        #expect(Set(rows.keys).isSubset(of: ["replied", "failed/shutting-down"]), "no row open: \(rows)")
    }

    @Test("a request in flight past --drain-timeout gets worker-died before serve exits, and its row is closed")
    func inFlightPastDrainTimeout() throws {
        let serve = try ManagedServe(workers: 1, options: ["--drain-timeout", "1", "--stop-grace", "0.5"],
                                     command: [Harness.exampleWorkerPath, "--hang-on", "1"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let holder = try ZeroMQContextHolder()
        let client = try holder.request(serve.frontend, "stuck")
        serve.waitForStatus("in flight") { $0.broker.inFlight == 1 }
        serve.child.signal(SIGTERM)
        let reply = try client.receive()?.frames.map { String(decoding: $0, as: UTF8.self) }
        #expect(reply?.prefix(2) == ["BATON-ERR", "worker-died"], "\(String(describing: reply))")
        #expect(serve.child.wait() == 0, "\(serve.child.output)")
        #expect(try requestStatusCounts(serve.stateDir) == ["failed/worker-died": 1])
    }
}
