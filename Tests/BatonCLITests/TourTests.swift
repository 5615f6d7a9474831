import Broker
import Foundation
import Supervisor
import Testing

/// The README's tour and the worker examples in Tests/peers, run as a new user would run them.
@Suite("The tour and the Python worker examples fit together", .serialized, .timeLimit(.minutes(3)))
struct TourTests {
    /// The Python heartbeating (DEALER) worker, as a managed worker command.
    static func heartbeatWorker(_ arguments: String...) -> [String] {
        ["/usr/bin/env", "python3", Harness.peersDirectory + "/heartbeat_worker.py"] + arguments
    }

    /// The worker rows of `baton workers --json`, newest first.
    static func workerRows(stateDir: String, directory: String) throws -> [[String: Any]] {
        let (status, output) = try runBaton(["workers", "--state-dir", stateDir, "--json"], directory: directory)
        #expect(status == 0, "\(output)")
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    }

    @Test("serve --workers 0, the Python lbbroker worker, and `baton call hello world` get both frames back")
    func tourWithTheLbbrokerWorker() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let worker = try Child.python("lbbroker_worker.py", [backend, "--prefix", "w1:"], name: "worker",
                                      directory: directory)
        defer { worker.signal(SIGKILL) }
        let state = directory + "/state"
        waitForStatus("worker registered", stateDir: state, directory: directory, log: serve) { $0.broker.workers == 1 }
        for _ in 1...2 {
            let (status, output) = try runBaton(["call", "--frontend", frontend, "hello", "world"],
                                                directory: directory)
            #expect(status == 0, "\(output)\n\(worker.output)")
            #expect(output == "w1:hello\nworld\n")
        }
        let after = waitForStatus("both answered", stateDir: state, directory: directory, log: serve) {
            $0.broker.repliesForwarded == 2
        }
        #expect(after?.broker.inFlight == 0 && after?.broker.idleWorkers == 1)
        #expect(worker.process.isRunning, "\(worker.output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("managed Python heartbeating workers get the heartbeat settings, serve, and say DISCONNECT on a reload")
    func managedPythonHeartbeatWorkers() throws {
        let serve = try ManagedServe(workers: 2, options: ["--heartbeat-liveness", "4"],
                                     command: Self.heartbeatWorker("--prefix", "py:"))
        serve.waitForStatus("2 slots ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let log = (try? String(contentsOfFile: serve.stateDir + "/logs/slot-1.log", encoding: .utf8)) ?? ""
        #expect(log.contains("ready interval_ms=200 liveness=4"), "\(log)")
        let (status, output) = try runBaton(["call", "--frontend", serve.frontend, "a", "b"],
                                            directory: serve.directory)
        #expect(status == 0 && output == "py:a\nb\n", "\(output)")

        let (reloaded, reloadOutput) = try runBaton(["reload", "--state-dir", serve.stateDir],
                                                    directory: serve.directory)
        #expect(reloaded == 0, "\(reloadOutput)")
        let after = serve.waitForStatus("old workers gone") {
            $0.broker.workersDisconnected >= 2 && $0.broker.workers == 2
        }
        #expect(after?.broker.workersHung == 0 && after?.broker.workersExpired == 0)
        #expect(try serve.call("again") == ["py:again"])
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
        let reasons = try Self.workerRows(stateDir: serve.stateDir, directory: serve.directory)
            .compactMap { $0["exitReason"] as? String }
        #expect(reasons.sorted() == ["replaced", "replaced", "stopped", "stopped"], "\(reasons)")
        // Expected departures are not warnings.
        let warnings = serve.child.output.split(separator: "\n").filter { $0.contains(" warning ") }
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test("a worker that says DISCONNECT and exits 0 on its own is replaced, never counted as a crash")
    func workerThatRecyclesItself() throws {
        let serve = try ManagedServe(workers: 1, options: ["--max-crashes", "1"],
                                     command: Self.heartbeatWorker("--leave-after", "1"))
        serve.waitForStatus("slot ready") { $0.slots.first?.state == .ready }
        for index in 1...3 {
            #expect(try serve.call("job \(index)") == ["job \(index)"])
            serve.waitForStatus("worker \(index) gone and replaced") {
                $0.slots.first?.restarts == index && $0.slots.first?.state == .ready
            }
        }
        let status = try #require(serve.status())
        #expect(status.slots.first?.state == .ready && status.slots.first?.failure == nil)
        #expect(status.broker.workersDisconnected == 3)
        let reasons = try Self.workerRows(stateDir: serve.stateDir, directory: serve.directory)
            .compactMap { $0["exitReason"] as? String }
        #expect(reasons == ["disconnected", "disconnected", "disconnected"], "\(reasons)")
        #expect(serve.child.output.contains("worker left (DISCONNECT, exit 0)"))
        #expect(!serve.child.output.contains("exited unexpectedly"), "\(serve.child.output)")
    }

    @Test("the tour's room: a session counter keeps counting across `baton reload`")
    func roomSurvivesHotUpdate() throws {
        let serve = try ManagedServe(workers: 2, command: [Harness.exampleWorkerPath, "--session-counter"])
        serve.waitForStatus("2 slots ready") { $0.slots.allSatisfy { $0.state == .ready } }
        func call(_ word: String) throws -> String {
            let (status, output) = try runBaton(["call", "--frontend", serve.frontend, "--session", "room-7", word],
                                                directory: serve.directory)
            #expect(status == 0, "\(output)")
            return output
        }
        #expect(try call("join") == "1\n")
        #expect(try call("move") == "2\n")
        let (reloaded, output) = try runBaton(["reload", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(reloaded == 0 && output.contains("1 session moved to the new worker"), "\(output)")
        #expect(try call("move") == "3\n", "the room survived the hot update")
        let (sessions, table) = try runBaton(["sessions", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(sessions == 0 && table.contains("room-7"), "\(table)")
    }
}
