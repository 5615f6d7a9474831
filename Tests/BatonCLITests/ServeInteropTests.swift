import Broker
import Foundation
import Supervisor
import Testing

@Suite("baton serve with third-party ZeroMQ peers", .serialized, .timeLimit(.minutes(3)))
struct ServeInteropTests {
    @Test("pyzmq REQ workers and a pyzmq REQ client in the classic lbbroker style talk through baton serve")
    func pyzmqLbbrokerPeers() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let workers = try (1...2).map { index in
            try Child.python("lbbroker_worker.py", [backend, "--prefix", "w\(index):"], name: "worker\(index)",
                             directory: directory)
        }
        waitForStatus("both workers registered", stateDir: directory + "/state", directory: directory, log: serve) {
            $0.broker.workers == 2 && $0.broker.idleWorkers == 2
        }
        let client = try Child.python("lbbroker_client.py", [frontend, "20"], name: "client", directory: directory)
        #expect(client.wait() == 0, "\(client.output)")
        let replies = client.output.split(separator: "\n").filter { $0.hasPrefix("w") }
        #expect(replies.count == 20, "\(client.output)")
        for (index, reply) in replies.enumerated() { #expect(reply.hasSuffix(":hello \(index)")) }
        #expect(Set(replies.map { $0.prefix(3) }) == ["w1:", "w2:"], "both workers served")

        let (status, output) = try runBaton(["call", "--frontend", frontend, "one frame"], directory: directory)
        #expect(status == 0)
        #expect(output.hasSuffix(":one frame\n"), "\(output)")

        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
        for worker in workers { worker.signal(SIGKILL) }
    }

    @Test("baton bench drives pyzmq echo workers and reports no loss")
    func benchAgainstPythonWorkers() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let workers = try (1...2).map { index in
            try Child.python("lbbroker_worker.py", [backend], name: "worker\(index)", directory: directory)
        }
        defer { for worker in workers { worker.signal(SIGKILL) } }
        let (status, output) = try runBaton(["bench", "--frontend", frontend, "--clients", "4", "--window", "4",
                                             "--total", "2000", "--json"], directory: directory)
        #expect(status == 0, "\(output)")
        let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(report?["matched"] as? Int == 2000)
        #expect(report?["lost"] as? Int == 0)
        #expect(report?["mismatched"] as? Int == 0)
        serve.signal(SIGINT)
        #expect(serve.wait() == 0)
    }

    @Test("baton bench exits non-zero when replies do not match requests")
    func benchDetectsWrongReplies() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let worker = try Child.python("lbbroker_worker.py", [backend, "--prefix", "tampered"], name: "worker",
                                      directory: directory)
        defer { worker.signal(SIGKILL) }
        let (status, output) = try runBaton(["bench", "--frontend", frontend, "--clients", "2", "--total", "50"],
                                            directory: directory)
        #expect(status == 1)
        #expect(output.contains("mismatched=50"), "\(output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }
}
