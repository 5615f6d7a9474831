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

/// DEALER clients that each send tagged requests `[tag][""]["job TAG"]` at once, then count the replies.
final class DealerFlood {
    let context: Context
    var clients: [Socket] = []
    let perClient: Int
    var total: Int { clients.count * perClient }

    init(frontend: String, clients count: Int, perClient: Int) throws {
        context = try Context()
        self.perClient = perClient
        for index in 0..<count {
            let client = try Socket(context, .dealer)
            client.linger = 0
            try client.setReceiveTimeout(milliseconds: 10_000)
            try client.connect(frontend)
            for request in 0..<perClient {
                try client.send(frames: [Array("\(index)-\(request)".utf8), [], Array("job \(index)-\(request)".utf8)])
            }
            clients.append(client)
        }
    }

    deinit {
        for client in clients { client.close() }
        context.terminate()
    }

    /// Receives until every request has had a reply or a receive times out: replies per tag, and how many of
    /// each outcome (`answered`, or the `BATON-ERR` code).
    func collect() throws -> (replies: [String: Int], outcomes: [String: Int]) {
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
        return (replies, outcomes)
    }
}

@Suite("A graceful stop answers every request it read", .serialized, .timeLimit(.minutes(3)))
struct ShutdownFaultTests {
    @Test("SIGTERM with 1024 requests from 16 DEALER clients, most in ZeroMQ's queues: one reply each, no row open")
    func everyQueuedRequestAnswered() throws {
        let serve = try ManagedServe(workers: 2, options: ["--max-queued", "100"],
                                     command: [Harness.exampleWorkerPath, "--work-ms", "50"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let flood = try DealerFlood(frontend: serve.frontend, clients: 16, perClient: 64)
        serve.waitForStatus("the broker's queue at its bound") { $0.broker.queueDepth == 100 }
        serve.child.signal(SIGTERM)
        let (replies, outcomes) = try flood.collect()
        #expect(serve.child.wait() == 0, "\(serve.child.output)")
        #expect(replies.count == flood.total, "every request answered: \(outcomes)")
        #expect(replies.values.allSatisfy { $0 == 1 }, "exactly once")
        #expect(Set(outcomes.keys).isSubset(of: ["answered", "shutting-down"]), "\(outcomes)")
        #expect((outcomes["shutting-down"] ?? 0) > flood.total / 2)
        let rows = try requestStatusCounts(serve.stateDir)
        #expect(rows.values.reduce(0, +) == flood.total, "\(rows)")
        #expect(Set(rows.keys).isSubset(of: ["replied", "failed/shutting-down"]), "no row open: \(rows)")
    }

    @Test("requests in flight past --drain-timeout get worker-died before serve exits, among 1024 from 16 clients")
    func inFlightPastDrainTimeout() throws {
        let serve = try ManagedServe(workers: 2, options: ["--max-queued", "100", "--drain-timeout", "1",
                                                           "--stop-grace", "0.5"],
                                     command: [Harness.exampleWorkerPath, "--hang-on", "1"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let flood = try DealerFlood(frontend: serve.frontend, clients: 16, perClient: 64)
        serve.waitForStatus("both workers stuck, the queue at its bound") {
            $0.broker.inFlight == 2 && $0.broker.queueDepth == 100
        }
        serve.child.signal(SIGTERM)
        let (replies, outcomes) = try flood.collect()
        #expect(serve.child.wait() == 0, "\(serve.child.output)")
        #expect(replies.count == flood.total && replies.values.allSatisfy { $0 == 1 }, "\(outcomes)")
        #expect(outcomes == ["worker-died": 2, "shutting-down": flood.total - 2])
        #expect(try requestStatusCounts(serve.stateDir)
                == ["failed/worker-died": 2, "failed/shutting-down": flood.total - 2])
    }
}
