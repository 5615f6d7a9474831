import Broker
import Foundation
import Supervisor
import Testing

/// Sends one request with `baton call`; returns its exit status and output.
func callBaton(_ frontend: String, _ body: String, timeout: Int, directory: String) throws -> (Int32?, String) {
    try runBaton(["call", "--frontend", frontend, "--timeout", "\(timeout)", body], directory: directory,
                 seconds: Double(timeout) + 10)
}

@Suite("Requests a worker cannot answer still get one reply", .serialized, .timeLimit(.minutes(3)))
struct RequestFaultTests {
    @Test("a stopped (SIGSTOP) REQ-style worker, default flags: worker-died after the request timeout, slot refilled")
    func stoppedRequestWorker() throws {
        let serve = try ManagedServe(workers: 1, command: [Harness.exampleWorkerPath, "--no-heartbeats",
                                                           "--freeze-on", "1"])
        let ready = serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let frozen = try #require(ready?.slots.first?.pid)
        let reply = try serve.call("freeze", timeoutMilliseconds: 45_000)
        #expect(reply.prefix(2) == ["BATON-ERR", "worker-died"], "\(reply)")
        #expect(reply.last?.contains("30000 ms") == true, "the default request timeout, 30 s: \(reply)")
        let after = serve.waitForStatus("replacement ready", seconds: 20) {
            $0.slots.first?.state == .ready && $0.slots.first?.pid != frozen
        }
        #expect(after?.broker.workersHung == 1)
        #expect(processIsGone(frozen))
    }

    @Test("a reply above --max-message-size gets bad-reply at once, and the worker keeps serving",
          arguments: [[], ["--no-heartbeats"]])
    func oversizedReply(style: [String]) throws {
        let prefix = String(repeating: "x", count: 200)
        let serve = try ManagedServe(workers: 1, options: ["--max-message-size", "1000", "--request-timeout", "60"],
                                     command: [Harness.exampleWorkerPath, "--prefix", prefix] + style)
        let ready = serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let reply = try serve.call(String(repeating: "y", count: 900), timeoutMilliseconds: 20_000)
        #expect(reply.prefix(2) == ["BATON-ERR", "bad-reply"], "\(reply)")
        #expect(try serve.call("small") == [prefix + "small"])
        let after = serve.status()
        #expect(after?.slots.first?.pid == ready?.slots.first?.pid, "the same worker still serves")
        #expect(after?.broker.workersHung == 0)
    }

    @Test("a DEALER worker that answers with the wrong token: its request gets worker-died by the default timeout")
    func wrongTokenWorker() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory)
        let worker = try Child.python("dealer_worker.py", [backend, "--wrong-token"], name: "worker",
                                      directory: directory)
        defer { worker.signal(SIGKILL) }
        #expect(serve.waitForOutput("worker ready"))
        let (status, output) = try callBaton(frontend, "lost", timeout: 45, directory: directory)
        #expect(status == 4, "a BATON-ERR reply (4), not a timeout (3): \(output)")
        #expect(output.contains("BATON-ERR worker-died"), "\(output)")
        #expect(worker.output.contains("answered"))
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
    }

    @Test("an external REQ worker dropped after a request timeout is taken back when its late reply arrives")
    func externalWorkerComesBack() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory, ["--request-timeout", "1"])
        let worker = try Child.python("lbbroker_worker.py", [backend, "--prefix", "w:", "--delay-first-ms", "2000"],
                                      name: "worker", directory: directory)
        defer { worker.signal(SIGKILL) }
        #expect(serve.waitForOutput("worker ready"))
        let (status, output) = try callBaton(frontend, "slow", timeout: 10, directory: directory)
        #expect(status == 4 && output.contains("BATON-ERR worker-died"), "\(output)")
        for index in 0..<3 {
            let (status, output) = try callBaton(frontend, "next \(index)", timeout: 10, directory: directory)
            #expect(status == 0 && output == "w:next \(index)\n", "\(output)")
        }
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0)
        #expect(serve.output.contains("dropped a reply for a request the worker no longer holds"))
    }
}
