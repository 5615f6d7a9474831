import Broker
import Foundation
import Supervisor
import Testing

/// Sessions lost with their workers: they free `--max-sessions` at once, and each key still learns of its loss.
@Suite("Lost sessions with real processes: kill -9 of every worker", .serialized, .timeLimit(.minutes(2)))
struct LostSessionServeTests {
    func call(_ serve: ManagedServe, session: String, _ body: String) throws -> (Int32?, String) {
        try runBaton(["call", "--frontend", serve.frontend, "--session", session, body], directory: serve.directory)
    }

    @Test("after kill -9 of every worker holding sessions, none counts as open and new sessions open at once")
    func lostSessionsFreeTheBound() throws {
        let serve = try ManagedServe(workers: 2, options: ["--max-sessions", "4"],
                                     command: [Harness.exampleWorkerPath, "--session-counter"])
        let ready = try #require(serve.waitForStatus("ready") {
            $0.slots.count == 2 && $0.slots.allSatisfy { $0.state == .ready }
        })
        for key in ["k0", "k1", "k2", "k3"] {
            let (status, output) = try call(serve, session: key, "tick")
            #expect(status == 0 && output == "1\n", "\(output)")
        }
        #expect(serve.status()?.broker.sessionsOpen == 4)
        for slot in ready.slots { kill(try #require(slot.pid), SIGKILL) }
        let restarted = serve.waitForStatus("both slots restarted and their sessions lost") { report in
            report.slots.allSatisfy { $0.state == .ready && !ready.slots.map(\.pid).contains($0.pid) }
                && report.broker.lostSessionKeys == 4
        }
        #expect(restarted?.broker.sessionsOpen == 0, "\(String(describing: restarted?.broker))")
        for key in ["n0", "n1", "n2"] {
            let (status, output) = try call(serve, session: key, "tick")
            #expect(status == 0 && output == "1\n", "a new session opens, not too-many-sessions: \(output)")
        }
        var (status, output) = try call(serve, session: "k0", "tick")
        #expect(status == 4 && output.contains("session-lost"), "the lost key learns of its loss once: \(output)")
        (status, output) = try call(serve, session: "k0", "tick")
        #expect(status == 0 && output == "1\n", "then it opens anew: \(output)")
        let after = try #require(serve.status())
        #expect(after.broker.sessionsOpen == 4 && after.broker.lostSessionKeys == 3, "\(after.broker)")
        #expect(after.broker.sessionsEnded >= 4, "\(after.broker)")
    }
}
