import Broker
import Foundation
import GRDB
import Store
import Supervisor
import Testing
import ZeroMQ

@Suite("Rolling hot update under load: real processes, real sockets", .serialized, .timeLimit(.minutes(4)))
struct ReloadTests {
    func reload(_ serve: ManagedServe, _ arguments: [String] = []) throws -> (Int32?, String) {
        try runBaton(["reload", "--state-dir", serve.stateDir] + arguments, directory: serve.directory, seconds: 60)
    }

    func startBench(_ serve: ManagedServe, clients: Int = 16, duration: Double) throws -> Child {
        try Child.baton(["bench", "--frontend", serve.frontend, "--clients", "\(clients)", "--duration", "\(duration)",
                         "--warmup", "0", "--json"], name: "bench-\(UUID().uuidString.prefix(6))",
                        directory: serve.directory)
    }

    /// Runs `body` (reloads) while the bench's load flows: first waits until `replies` replies went through,
    /// then requires replies during `body` and requests still arriving after it, so the bench was sending
    /// the whole time.
    func underLoad<T>(_ serve: ManagedServe, afterReplies replies: UInt64, _ body: () throws -> T) throws -> T {
        serve.waitForStatus("\(replies) replies before reloading") { $0.broker.repliesForwarded >= replies }
        let before = try #require(serve.status())
        let result = try body()
        let after = try #require(serve.status())
        #expect(after.broker.repliesForwarded > before.broker.repliesForwarded, "replies during the reload")
        serve.waitForStatus("requests still arriving after the reload") {
            $0.broker.requestsReceived > after.broker.requestsReceived
        }
        return result
    }

    func report(_ bench: Child) -> [String: Any] {
        #expect(bench.wait(seconds: 60) != nil)
        return (try? JSONSerialization.jsonObject(with: Data(bench.output.utf8)) as? [String: Any]) ?? [:]
    }

    @Test("reloading 4 workers under 16 clients loses nothing, fails nothing; new requests go to the new generation")
    func reloadUnderLoad() throws {
        let serve = try ManagedServe(workers: 4, command: [Harness.exampleWorkerPath, "--work-ms", "2"])
        serve.waitForStatus("ready") { $0.slots.count == 4 && $0.slots.allSatisfy { $0.state == .ready } }
        let bench = try startBench(serve, duration: 8)
        let (status, output) = try underLoad(serve, afterReplies: 200) { try reload(serve) }
        #expect(status == 0, "\(output)")
        #expect(output.contains("slot 4: old worker drained; stopping it"))
        #expect(output.hasSuffix("generation 2 is active in all 4 slots\n"), "\(output)")
        let result = report(bench)
        #expect(result["lost"] as? Int == 0)
        #expect(result["errors"] as? [String: Int] == [:], "\(bench.output)")
        #expect(result["mismatched"] as? Int == 0)
        #expect((result["matched"] as? Int ?? 0) > 200)
        let after = serve.waitForStatus("all on generation 2") { $0.slots.allSatisfy { $0.generation == 2 } }
        #expect(after?.slots.allSatisfy { $0.state == .ready } == true)
        for index in 0..<20 { #expect(try serve.call("after \(index)") == ["after \(index)"]) }
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
        let warnings = serve.child.output.split(separator: "\n").filter { $0.contains(" warning ") }
        #expect(warnings.isEmpty, "replaced and stopped workers are expected, not warnings: \(warnings)")
        let database = try HistoryDatabase.openReadOnly(path: serve.stateDir + "/baton.sqlite")
        let last20 = try database.read { db in
            try Int?.fetchAll(db, sql: "SELECT generation FROM request ORDER BY id DESC LIMIT 20")
        }
        #expect(last20 == Array(repeating: 2, count: 20))
        let states = try HistoryQueries.generations(in: database).map(\.state)
        #expect(states == ["active", "retired"])
        let reasons = try database.read { db in
            try String.fetchAll(db, sql: "SELECT exit_reason FROM worker WHERE generation = 1")
        }
        #expect(reasons == Array(repeating: "replaced", count: 4))
    }

    @Test("with --surge 0 and one worker, requests that arrive during the swap are held and answered")
    func noSurgeHoldsRequests() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--start-delay-ms", "300"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let bench = try startBench(serve, clients: 4, duration: 6)
        let (status, output) = try underLoad(serve, afterReplies: 50) { try reload(serve, ["--surge", "0"]) }
        #expect(status == 0, "\(output)")
        #expect(output.contains("slot 1: draining the old worker first (no surge)"))
        let result = report(bench)
        #expect(result["lost"] as? Int == 0)
        #expect(result["errors"] as? [String: Int] == [:], "\(bench.output)")
        #expect((result["max"] as? Int ?? 0) >= 250_000, "some requests waited for the new worker's READY")
    }

    @Test("a new binary that exits at start, never sends READY, or is missing is rolled back; the old one serves")
    func badGenerations() throws {
        let serve = try ManagedServe(workers: 2, command: [Harness.exampleWorkerPath, "--work-ms", "2"])
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let before = serve.status()?.slots.compactMap(\.pid) ?? []
        let bench = try startBench(serve, clients: 8, duration: 10)
        let silent = serve.directory + "/silent-worker"
        try "#!/bin/sh\nexec sleep 60\n".write(toFile: silent, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: silent)
        let cases: [([String], String)] = [
            (["--", Harness.exampleWorkerPath, "--fail-before-ready"], "before READY"),
            (["--ready-timeout", "1", "--", silent], "sent no READY within 1 s"),
            (["--", serve.directory + "/missing-worker"], "not found"),
        ]
        try underLoad(serve, afterReplies: 100) {
            for (arguments, reason) in cases {
                let (status, output) = try reload(serve, arguments)
                #expect(status == 1, "\(arguments): \(output)")
                #expect(output.contains("reload failed:") && output.contains(reason), "\(output)")
            }
        }
        let result = report(bench)
        #expect(result["lost"] as? Int == 0)
        #expect(result["errors"] as? [String: Int] == [:], "\(bench.output)")
        let status = try #require(serve.status())
        #expect(status.slots.compactMap(\.pid) == before, "the old workers served throughout")
        #expect(status.slots.allSatisfy { $0.generation == 1 })
        let database = try HistoryDatabase.openReadOnly(path: serve.stateDir + "/baton.sqlite")
        let generations = try HistoryQueries.generations(in: database)
        #expect(generations.map(\.state) == ["failed", "failed", "failed", "active"])
        #expect(try serve.call("still here") == ["still here"])
    }

    @Test("an old worker in the middle of a slow request is not stopped before it answers")
    func slowRequestFinishes() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--work-ms", "1500"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let context = try ZeroMQContextHolder()
        let client = try context.request(serve.frontend, "slow one")
        serve.waitForStatus("in flight") { $0.broker.inFlight == 1 }
        let (status, output) = try reload(serve)
        #expect(status == 0, "\(output)")
        let reply = try client.receive()?.frames.map { String(decoding: $0, as: UTF8.self) }
        #expect(reply == ["slow one"])
        client.close()
    }

    @Test("a second reload while one runs is refused with a clear message")
    func concurrentReloadRefused() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--start-delay-ms", "1500"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let first = try Child.baton(["reload", "--state-dir", serve.stateDir], name: "first-reload",
                                    directory: serve.directory)
        #expect(first.waitForOutput("starting a generation 2 worker"))
        let (status, output) = try reload(serve)
        #expect(status == 1)
        #expect(output.contains("a reload to generation 2 is already running"), "\(output)")
        #expect(first.wait(seconds: 30) == 0, "\(first.output)")
    }

    @Test("SIGHUP reloads the current command, and baton stop shuts the supervisor down")
    func sighupAndStop() throws {
        let serve = try ManagedServe(workers: 2)
        serve.waitForStatus("ready") { $0.slots.allSatisfy { $0.state == .ready } }
        serve.child.signal(SIGHUP)
        serve.waitForStatus("generation 2") { $0.slots.allSatisfy { $0.generation == 2 && $0.state == .ready } }
        let (status, output) = try runBaton(["stop", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(status == 0, "\(output)")
        #expect(serve.child.wait(seconds: 10) == 0)
    }
}
