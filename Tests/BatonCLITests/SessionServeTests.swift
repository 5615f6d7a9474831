import Broker
import Foundation
import GRDB
import Store
import Supervisor
import Testing

/// Sessions with real processes: the session-counter example worker, a pyzmq session client, `baton reload`
/// and `kill -9`.
@Suite("Sessions through reloads and crashes: real processes, real sockets", .serialized, .timeLimit(.minutes(4)))
struct SessionServeTests {
    /// What `session_client.py` printed.
    struct ClientReport: Decodable {
        var sent: Int
        var replies: Int
        var errors: [String: Int]
        var violations: [String]
        var violation_count: Int
        var lost: [String: Int]
    }

    func startClient(_ serve: ManagedServe, keys: Int) throws -> (Child, stop: String) {
        let stop = serve.directory + "/stop"
        let ready = serve.directory + "/ready"
        let client = try Child.python("session_client.py", [serve.frontend, "--keys", "\(keys)", "--stop-file", stop,
                                                           "--ready-file", ready],
                                      name: "session-client", directory: serve.directory)
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline && client.process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(FileManager.default.fileExists(atPath: ready), "every key answered once: \(client.output)")
        return (client, stop)
    }

    func finish(_ client: Child, stop: String) throws -> ClientReport {
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        #expect(client.wait(seconds: 30) == 0, "\(client.output)")
        let line = client.output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        return try JSONDecoder().decode(ClientReport.self, from: Data(line.utf8))
    }

    func reload(_ serve: ManagedServe) throws -> (Int32?, String) {
        try runBaton(["reload", "--state-dir", serve.stateDir], directory: serve.directory, seconds: 90)
    }

    func counterServe(workers: Int, worker: [String] = [], options: [String] = []) throws -> ManagedServe {
        let serve = try ManagedServe(workers: workers, options: options,
                                     command: [Harness.exampleWorkerPath, "--session-counter", "--capacity", "8"]
                                        + worker)
        serve.waitForStatus("ready") { $0.slots.count == workers && $0.slots.allSatisfy { $0.state == .ready } }
        return serve
    }

    @Test("20 sessions under load through a reload: every count goes on 1, 2, 3… with no reset, no gap, no error")
    func countsSurviveReload() throws {
        let serve = try counterServe(workers: 4)
        let (client, stop) = try startClient(serve, keys: 20)
        let before = try #require(serve.status())
        let (status, output) = try reload(serve)
        #expect(status == 0, "\(output)")
        #expect(output.contains("sessions moved to the new worker"), "\(output)")
        #expect(!output.contains("could not move"), "\(output)")
        serve.waitForStatus("requests after the reload") {
            $0.broker.repliesForwarded > before.broker.repliesForwarded + 200
        }
        let report = try finish(client, stop: stop)
        #expect(report.errors.isEmpty && report.violation_count == 0, "\(report)")
        #expect(report.replies == report.sent && report.replies > 400)
        let after = try #require(serve.status())
        #expect(after.slots.allSatisfy { $0.generation == 2 })
        #expect(after.slots.map(\.sessions).reduce(0, +) == 20, "every session lives on a new worker")
        #expect(after.broker.sessionsMoved >= 20 && after.broker.handoffsFailed == 0)
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
        let database = try HistoryDatabase.openReadOnly(path: serve.stateDir + "/baton.sqlite")
        let (moved, failed) = try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM handoff WHERE outcome = 'moved'") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM handoff WHERE outcome = 'failed'") ?? 0)
        }
        #expect(moved >= 20 && failed == 0)
    }

    @Test("kill -9 of one worker: only its sessions see one session-lost each, then start over")
    func killLosesOnlyItsSessions() throws {
        let serve = try counterServe(workers: 4)
        let (client, stop) = try startClient(serve, keys: 20)
        let status = try #require(serve.status())
        let victim = try #require(status.slots.first { $0.sessions > 0 })
        let victimSessions = victim.sessions
        kill(try #require(victim.pid), SIGKILL)
        serve.waitForStatus("the slot restarted") { $0.slots[victim.slot - 1].pid != victim.pid }
        serve.waitForStatus("sessions again on every key") { $0.broker.sessionsOpen == 20 }
        let report = try finish(client, stop: stop)
        #expect(report.lost.count == victimSessions, "\(report)")
        #expect(report.lost.values.allSatisfy { $0 == 1 }, "one session-lost per key: \(report.lost)")
        #expect(report.errors == ["session-lost": victimSessions], "\(report.errors)")
        #expect(report.violation_count == 0, "the other keys kept counting: \(report.violations)")
    }

    @Test("a generation without handoff keeps its sessions through the reload until the session drain timeout")
    func noHandoffDrains() throws {
        let serve = try counterServe(workers: 2, worker: ["--no-handoff"], options: ["--session-drain-timeout", "2"])
        let (client, stop) = try startClient(serve, keys: 6)
        let (status, output) = try reload(serve)
        #expect(status == 0, "\(output)")
        let report = try finish(client, stop: stop)
        #expect(report.violation_count == 0, "counts went on while the old workers kept them: \(report.violations)")
        #expect(report.lost.count == 6 && report.lost.values.allSatisfy { $0 == 1 },
                "each session ended once at the drain timeout: \(report.lost)")
        #expect(report.errors == ["session-lost": 6])
        let after = try #require(serve.status())
        #expect(after.broker.sessionsDrainTimedOut == 6 && after.broker.sessionsMoved == 0)
    }

    @Test("baton bench --sessions: every request in a session, every reply checked, one session per client slot")
    func benchWithSessions() throws {
        let serve = try ManagedServe(workers: 2, command: [Harness.exampleWorkerPath, "--capacity", "4"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let (status, output) = try runBaton(["bench", "--frontend", serve.frontend, "--clients", "3", "--window", "4",
                                             "--total", "600", "--sessions", "--json"], directory: serve.directory)
        #expect(status == 0, "\(output)")
        let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
        #expect(report["matched"] as? Int == 600 && report["lost"] as? Int == 0, "\(output)")
        let after = try #require(serve.status())
        #expect(after.broker.sessionsOpen == 12 && after.broker.sessionsOpened == 12)
        #expect(after.slots.map(\.sessions).reduce(0, +) == 12)
    }
}
