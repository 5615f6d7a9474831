import BatonProtocol
import Broker
import Foundation
import Testing
import ZeroMQ

@Suite("The example worker binary against a real broker", .serialized, .timeLimit(.minutes(2)))
struct ExampleWorkerTests {
    @Test("it echoes every frame unchanged, heartbeating by default and REQ-style with --no-heartbeats")
    func echoes() throws {
        for (arguments, heartbeating) in [([String](), true), (["--no-heartbeats"], false)] {
            let worker = try WorkerFixture(arguments)
            #expect(try worker.registered()?.heartbeating == heartbeating)
            let frames: [[UInt8]] = [Array("hello".utf8), [], Array(0...255), [0]]
            #expect(try worker.call(frames) == frames)
            #expect(try worker.call("again") == ["again"])
            kill(worker.process.processIdentifier, SIGTERM)
            #expect(worker.exitStatus() == 0)
            #expect(worker.output.contains("after 2 requests"), "\(worker.output)")
        }
    }

    @Test("--capacity 4 with the broker: registered with capacity 4, it holds 4 requests at once and answers each")
    func capacityWithTheBroker() throws {
        let worker = try WorkerFixture(["--capacity", "4", "--work-ms", "1500"])
        #expect(try worker.registered()?.capacity == 4)
        let client = try Socket(worker.context, .dealer)
        defer { client.close() }
        client.linger = 0
        try client.setReceiveTimeout(milliseconds: 10_000)
        try client.connect(worker.endpoints.frontend)
        let requests = (1...4).map { [Array("tag\($0)".utf8), [], Array("r\($0)".utf8)] }
        for request in requests { try client.send(frames: request) }
        try worker.worker.waitUntil("the worker holds 4 requests") {
            try worker.server.workersBlocking().first?.inFlight == 4
        }
        var replies: Set<[[UInt8]]> = []
        for _ in requests { replies.insert(try #require(try client.receive()?.frames)) }
        #expect(replies == Set(requests))
    }

    @Test("--fail-on N answers request N handler-error through the broker, and serves the requests after it")
    func failOn() throws {
        let worker = try WorkerFixture(["--fail-on", "2"])
        try worker.registered()
        #expect(try worker.call("one") == ["one"])
        #expect(try worker.call("two") == ["BATON-ERR", "handler-error", "the request's handler failed"])
        #expect(try worker.call("three") == ["three"])
        #expect(try worker.server.statsBlocking().workers == 1, "a handler error does not end the worker")
        worker.worker.signal(SIGTERM)
        #expect(worker.exitStatus() == 0)
        #expect(worker.output.contains("after 3 requests"), "\(worker.output)")
    }

    @Test("--prefix puts its text in front of the first frame of each reply only")
    func prefix() throws {
        let worker = try WorkerFixture(["--prefix", "v2:"])
        try worker.registered()
        #expect(try worker.call("first", "second") == ["v2:first", "second"])
    }

    @Test("--crash-after N answers the requests before N, then aborts on N; past the request timeout its client gets worker-died")
    func crashAfter() throws {
        let worker = try WorkerFixture(["--crash-after", "3", "--no-heartbeats"]) {
            $0.policy.requestTimeout = .milliseconds(500)
        }
        try worker.registered()
        #expect(try worker.call("one") == ["one"])
        #expect(try worker.call("two") == ["two"])
        #expect(try worker.call("three").prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(worker.exitStatus() == SIGABRT)
        #expect(worker.process.terminationReason == .uncaughtSignal)
        #expect(try worker.server.statsBlocking().workersHung == 1)
    }

    @Test("a heartbeating worker that crashes on a request: its client gets worker-died")
    func heartbeatingCrash() throws {
        // A long liveness, so the broker learns of the crash from a failed heartbeat send, not from silence.
        let worker = try WorkerFixture(["--crash-after", "1"]) {
            $0.policy.heartbeatLiveness = 50
            $0.policy.queueTimeout = .seconds(1)
        }
        try worker.registered()
        let reply = try worker.call("boom")
        #expect(worker.exitStatus() == SIGABRT)
        // Found gone by a failed heartbeat send, the worker's request was delivered: it is lost with the worker.
        #expect(reply.prefix(2) == ["BATON-ERR", "worker-died"], "\(reply)")
    }

    @Test("--freeze-on N stops the process on request N: no heartbeats, no reply; the broker drops it")
    func freezeOn() throws {
        let worker = try WorkerFixture(["--freeze-on", "1"])
        try worker.registered()
        #expect(try worker.call("freeze").prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(try worker.server.statsBlocking().workersExpired == 1)
        let stat = try String(contentsOfFile: "/proc/\(worker.process.processIdentifier)/stat", encoding: .utf8)
        #expect(stat.split(separator: ")").last?.split(separator: " ").first == "T", "stopped, not exited: \(stat)")
    }

    @Test("--ignore-sigterm keeps serving after SIGTERM, which stops a worker without the flag")
    func ignoreSigterm() throws {
        let stubborn = try WorkerFixture(["--ignore-sigterm"])
        try stubborn.registered()
        kill(stubborn.process.processIdentifier, SIGTERM)
        // The signal is pending before a request can reach the worker. Had it stopped the worker, it would
        // have exited after the first reply at the latest, and the second would go unanswered.
        #expect(try stubborn.call("still here") == ["still here"])
        #expect(try stubborn.call("and here") == ["and here"])
        #expect(stubborn.process.isRunning)

        let plain = try WorkerFixture([])
        try plain.registered()
        kill(plain.process.processIdentifier, SIGTERM)
        #expect(plain.exitStatus() == 0)
        #expect(plain.output.contains("example worker exiting"), "\(plain.output)")
    }

    @Test("--fail-before-ready exits 1 without registering; with no backend it refuses to start")
    func refusals() throws {
        let failing = try WorkerFixture(["--fail-before-ready"])
        #expect(failing.exitStatus() == 1)
        #expect(failing.output.contains("failing before READY"), "\(failing.output)")
        #expect(try failing.server.statsBlocking().workers == 0)

        let lost = try WorkerFixture([], backend: false)
        #expect(lost.exitStatus() == 64)
        #expect(lost.output.contains("no backend"), "\(lost.output)")
    }
}
