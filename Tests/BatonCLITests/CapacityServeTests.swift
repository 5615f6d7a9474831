import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

@Suite("Worker capacity with real processes and sockets", .serialized, .timeLimit(.minutes(3)))
struct CapacityServeTests {
    @Test("a pyzmq DEALER worker declaring capacity 8 receives 8 requests before it replies to any")
    func eightBeforeAnyReply() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let release = directory + "/release"
        let worker = try Child.python("capacity_worker.py", [backend, "--identity", "edge-8", "--capacity", "8",
                                                             "--hold", "8", "--release-file", release],
                                      name: "worker", directory: directory)
        defer { worker.signal(SIGKILL) }
        waitForStatus("the worker registered with capacity 8", stateDir: directory + "/state", directory: directory,
                      log: serve) { $0.externalWorkers.map(\.capacity) == [8] }
        let clients = try ZeroMQContextHolder()
        let sockets = try (0..<9).map { try clients.request(frontend, "job \($0)") }
        #expect(worker.waitForOutput("held 8"), "\(worker.output)")
        let held = waitForStatus("8 in flight at the worker, the 9th queued", stateDir: directory + "/state",
                                 directory: directory, log: serve) {
            $0.broker.inFlight == 8 && $0.broker.queueDepth == 1
        }
        #expect(held?.externalWorkers == [ExternalWorkerStatus(id: "edge-8", inFlight: 8, capacity: 8, served: 0)])
        #expect(held?.broker.repliesForwarded == 0, "nothing was answered before the worker held 8")
        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        for (index, socket) in sockets.enumerated() {
            let reply = try socket.receive()?.frames.map { String(decoding: $0, as: UTF8.self) }
            #expect(reply == ["job \(index)"])
        }
        #expect(!worker.output.contains("over capacity"), "\(worker.output)")
        let after = waitForStatus("all answered", stateDir: directory + "/state", directory: directory, log: serve) {
            $0.broker.inFlight == 0 && $0.broker.repliesForwarded == 9
        }
        #expect(after?.externalWorkers.first?.served == 9)
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
    }

    @Test("version 1 workers (lbbroker REQ, heartbeating DEALER) serve unchanged beside a worker of capacity 4")
    func versionOneBesideCapacity() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let workers = [
            try Child.python("lbbroker_worker.py", [backend, "--identity", "v1-req"], name: "req", directory: directory),
            try Child.python("heartbeat_worker.py", [backend, "--identity", "v1-dealer", "--delay-ms", "1"],
                             name: "dealer", directory: directory),
            try Child.python("capacity_worker.py", [backend, "--identity", "v2-k4", "--capacity", "4",
                                                    "--work-ms", "2"], name: "k4", directory: directory),
        ]
        defer { for worker in workers { worker.signal(SIGKILL) } }
        waitForStatus("three workers", stateDir: directory + "/state", directory: directory, log: serve) {
            $0.externalWorkers.count == 3
        }
        let (status, output) = try runBaton(["bench", "--frontend", frontend, "--clients", "8", "--window", "2",
                                             "--total", "2000", "--json"], directory: directory, seconds: 60)
        #expect(status == 0, "\(output)")
        let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(report?["matched"] as? Int == 2000 && report?["lost"] as? Int == 0, "\(output)")
        #expect(report?["mismatched"] as? Int == 0)
        let after = try #require(supervisorStatus(stateDir: directory + "/state", directory: directory))
        let byID = Dictionary(uniqueKeysWithValues: after.externalWorkers.map { ($0.id, $0) })
        #expect(byID["v1-req"]?.capacity == 1 && byID["v1-dealer"]?.capacity == 1 && byID["v2-k4"]?.capacity == 4)
        #expect(after.externalWorkers.allSatisfy { $0.served > 0 }, "\(after.externalWorkers)")
        #expect(after.broker.errorReplies == 0 && after.broker.malformedWorkerMessages == 0)
        #expect(!workers[2].output.contains("over capacity"), "\(workers[2].output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
    }

    @Test("managed workers of capacity 8 through a rolling reload under load: nothing lost, no errors")
    func reloadWithCapacity() throws {
        let command = ["/usr/bin/env", "python3", Harness.peersDirectory + "/capacity_worker.py", "--capacity", "8",
                       "--work-ms", "3"]
        let serve = try ManagedServe(workers: 2, command: command)
        serve.waitForStatus("ready with capacity 8") {
            $0.slots.count == 2 && $0.slots.allSatisfy { $0.state == .ready && $0.capacity == 8 }
        }
        let bench = try Child.baton(["bench", "--frontend", serve.frontend, "--clients", "16", "--window", "2",
                                     "--duration", "8", "--warmup", "0", "--json"], name: "bench",
                                    directory: serve.directory)
        serve.waitForStatus("load flowing") { $0.broker.repliesForwarded >= 300 }
        let before = try #require(serve.status())
        let (status, output) = try runBaton(["reload", "--state-dir", serve.stateDir], directory: serve.directory,
                                            seconds: 60)
        #expect(status == 0, "\(output)")
        #expect(output.hasSuffix("generation 2 is active in all 2 slots\n"), "\(output)")
        let during = try #require(serve.status())
        #expect(during.broker.repliesForwarded > before.broker.repliesForwarded)
        serve.waitForStatus("requests still arriving after the reload") {
            $0.broker.requestsReceived > during.broker.requestsReceived
        }
        #expect(bench.wait(seconds: 60) == 0, "\(bench.output)")
        let result = (try? JSONSerialization.jsonObject(with: Data(bench.output.utf8)) as? [String: Any]) ?? [:]
        #expect(result["lost"] as? Int == 0)
        #expect(result["errors"] as? [String: Int] == [:], "\(bench.output)")
        #expect(result["mismatched"] as? Int == 0)
        let after = serve.waitForStatus("generation 2 with capacity 8") {
            $0.slots.allSatisfy { $0.generation == 2 && $0.state == .ready && $0.capacity == 8 }
        }
        #expect(after?.broker.errorReplies == 0 && after?.broker.workerDied == 0)
        let logs = try FileManager.default.contentsOfDirectory(atPath: serve.stateDir + "/logs")
        #expect(Set(logs).isSuperset(of: ["baton.log", "slot-1.log", "slot-2.log"]), "\(logs)")
        for log in logs {
            let text = try String(contentsOfFile: serve.stateDir + "/logs/" + log, encoding: .utf8)
            #expect(!text.contains("over capacity"), "\(log): \(text)")
        }
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
    }
}
