import Broker
import Foundation
import GRDB
import Store
import Supervisor
import Testing

/// Bursts of replies the broker makes itself, to one pipelining pyzmq client that reads all the time: a
/// shutdown answering a full queue, a `kill -9` answering the requests held behind a session.
@Suite("Reply bursts reach a client that reads: real processes, real sockets", .serialized, .timeLimit(.minutes(4)))
struct ReplyBurstServeTests {
    /// What `burst_client.py` printed.
    struct BurstReport: Decodable {
        var sent: Int
        var answers: Int
        var replies: Int
        var errors: [String: Int]
        var duplicates: [String]
    }

    /// Starts the client and waits until it has sent every request and the broker has read them all.
    func startBurst(_ serve: ManagedServe, requests: Int, session: String? = nil) throws -> Child {
        let ready = serve.directory + "/sent"
        let client = try Child.python("burst_client.py", [serve.frontend, "--requests", "\(requests)",
                                                         "--ready-file", ready] + (session.map { ["--session", $0] } ?? []),
                                      name: "burst-client", directory: serve.directory)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline && client.process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(FileManager.default.fileExists(atPath: ready), "\(client.output)")
        serve.waitForStatus("the broker read every request", seconds: 30) {
            $0.broker.requestsReceived >= UInt64(requests)
        }
        return client
    }

    func report(_ client: Child) throws -> BurstReport {
        #expect(client.wait(seconds: 90) == 0, "\(client.output)")
        let line = client.output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        return try JSONDecoder().decode(BurstReport.self, from: Data(line.utf8))
    }

    @Test("SIGTERM with 10,000 pipelined requests queued: the reading client gets all 10,000 answers")
    func shutdownBurstIsDelivered() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--work-ms", "5"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let client = try startBurst(serve, requests: 10_000)
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait(seconds: 60) == 0, "\(serve.child.output)")
        let report = try report(client)
        #expect(report.answers == 10_000, "\(report)")
        #expect(report.duplicates.isEmpty)
        #expect(Set(report.errors.keys).isSubset(of: ["shutting-down"]), "\(report.errors)")
        #expect(!serve.child.output.contains("not read"), "\(serve.child.output)")
        let database = try HistoryDatabase.openReadOnly(path: serve.stateDir + "/baton.sqlite")
        let (answered, dropped) = try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM request WHERE status IN ('replied', 'failed')") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM request WHERE error = 'reply-dropped'") ?? 0)
        }
        #expect(answered == 10_000 && dropped == 0)
    }

    @Test("kill -9 of the worker holding a session with 5,000 requests held: every request is answered")
    func sessionLossBurstIsDelivered() throws {
        let serve = try ManagedServe(workers: 2, command: [Harness.exampleWorkerPath, "--session-counter",
                                                           "--work-ms", "5"])
        serve.waitForStatus("ready") { $0.slots.count == 2 && $0.slots.allSatisfy { $0.state == .ready } }
        let client = try startBurst(serve, requests: 5_000, session: "room")
        let status = try #require(serve.status())
        let holder = try #require(status.slots.first { $0.sessions > 0 })
        kill(try #require(holder.pid), SIGKILL)
        let report = try report(client)
        #expect(report.answers == 5_000, "\(report)")
        #expect(report.replies > 0 && report.errors["session-lost", default: 0] > 4_000, "\(report)")
        #expect(Set(report.errors.keys) == ["session-lost"], "\(report.errors)")
        let after = try #require(serve.waitForStatus("every request answered") {
            $0.broker.queueDepth == 0 && $0.broker.repliesWaiting == 0
        })
        #expect(after.broker.unreadRepliesDropped == 0, "\(after.broker)")
    }
}
