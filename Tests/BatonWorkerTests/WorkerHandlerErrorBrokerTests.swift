import BatonProtocol
import BatonWorker
import Broker
import Foundation
import Logging
import Testing
import ZeroMQ

/// A DEALER client of a real broker that tags each request, so that many can be in flight.
private final class TaggedClient {
    private let context: Context
    private let socket: Socket

    init(_ frontend: String) throws {
        context = try Context()
        socket = try Socket(context, .dealer)
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.connect(frontend)
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// Sends one request whose body is the single frame `name`, tagged with `name`.
    func send(_ name: String) throws {
        _ = try socket.send(frames: [Array(name.utf8), [], Array(name.utf8)])
    }

    /// The next reply as (tag, body), nil after 15 s.
    func receive() throws -> (tag: String, body: [String])? {
        let deadline = ContinuousClock.now + .seconds(15)
        var frames: [[UInt8]] = []
        while ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames), frames.count >= 3 else { continue }
            return (String(decoding: frames[0], as: UTF8.self), frames.dropFirst(2).map { String(decoding: $0, as: UTF8.self) })
        }
        return nil
    }
}

@Suite("Handler errors end to end: BatonWorker under a real broker", .serialized, .timeLimit(.minutes(1)))
struct WorkerHandlerErrorBrokerTests {
    private static func broker() throws -> (BrokerServer, BrokerServer.BoundEndpoints) {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        options.policy.heartbeatInterval = .milliseconds(100)
        options.policy.heartbeatLiveness = 20
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let broker = try BrokerServer(options: options, logger: logger)
        return (broker, try broker.start())
    }

    private static func options(capacity: Int, maxHandlerErrors: Int? = nil) -> WorkerOptions {
        var options = WorkerOptions()
        options.capacity = capacity
        options.maxHandlerErrors = maxHandlerErrors
        options.heartbeatIntervalMilliseconds = 100
        options.heartbeatLiveness = 20
        return options
    }

    /// Polls the broker's statistics until `condition` holds; the last ones either way.
    private static func awaitStats(_ broker: BrokerServer, _ condition: (BrokerStats) -> Bool) async throws -> BrokerStats {
        let deadline = ContinuousClock.now + .seconds(15)
        var stats = try await broker.stats()
        while !condition(stats) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            stats = try await broker.stats()
        }
        return stats
    }

    @Test("a capacity-4 worker whose handler throws on one request: exactly that request gets BATON-ERR handler-error, the others are served, the worker stays")
    func workerStays() async throws {
        let (broker, endpoints) = try Self.broker()
        defer { broker.stop() }
        let worker = WorkerThread(WorkerEnvironment(backend: endpoints.backend, workerID: Array("a-1".utf8)),
                                  Self.options(capacity: 4)) { request in
            if request.body == [Array("boom".utf8)] { throw HandlerFailure(description: "secret detail") }
            return .reply(frames("A") + request.body)
        }
        _ = try await Self.awaitStats(broker) { $0.workers == 1 }
        let client = try TaggedClient(endpoints.frontend)
        let names = ["r1", "r2", "r3", "boom", "r5", "r6", "r7", "r8"]
        for name in names { try client.send(name) }
        var replies: [String: [String]] = [:]
        for _ in names {
            let reply = try #require(try client.receive())
            replies[reply.tag] = reply.body
        }
        #expect(replies["boom"] == ["BATON-ERR", "handler-error", "the request's handler failed"])
        for name in names where name != "boom" { #expect(replies[name] == ["A", name]) }
        try client.send("after")
        #expect(try client.receive()?.body == ["A", "after"])
        let stats = try await broker.stats()
        #expect(stats.workers == 1 && stats.workersDisconnected == 0 && stats.workerDied == 0)
        _ = worker
    }

    @Test("with maxHandlerErrors 1 the worker leaves, and the request it held but had not started is answered by another worker, not worker-died")
    func unstartedRequestsGoElsewhere() async throws {
        let (broker, endpoints) = try Self.broker()
        defer { broker.stop() }
        let gate = Gate()
        let leaving = WorkerThread(WorkerEnvironment(backend: endpoints.backend, workerID: Array("a-1".utf8)),
                                   Self.options(capacity: 4, maxHandlerErrors: 1)) { request in
            let name = String(decoding: request.body[0], as: UTF8.self)
            guard gate.pass(name) else { return .reply(frames("the gate never opened for \(name)")) }
            if name == "boom" { throw HandlerFailure(description: "boom") }
            return .reply(frames("A", name))
        }
        _ = try await Self.awaitStats(broker) { $0.workers == 1 }
        let client = try TaggedClient(endpoints.frontend)
        for name in ["b1", "b2", "b3", "boom", "r5", "r6"] { try client.send(name) }
        // The worker runs four; two wait in the broker's queue.
        #expect(gate.awaitArrivals(4))
        let queued = try await Self.awaitStats(broker) { $0.queueDepth == 2 }
        #expect(queued.queueDepth == 2 && queued.inFlight == 4)
        // boom throws: its reply frees a slot, so the broker sends r5 there before it reads the worker's RETURN;
        // the worker, leaving, gives r5 back.
        gate.open("boom")
        let error = try #require(try client.receive())
        #expect(error.tag == "boom" && error.body == ["BATON-ERR", "handler-error", "the request's handler failed"])
        let returned = try await Self.awaitStats(broker) { $0.requestsReturned == 1 && $0.queueDepth == 2 }
        #expect(returned.requestsReturned == 1 && returned.queueDepth == 2 && returned.inFlight == 3)
        // Another worker serves what the leaving one did not start.
        let other = WorkerThread(WorkerEnvironment(backend: endpoints.backend, workerID: Array("b-1".utf8)),
                                 Self.options(capacity: 4)) { .reply(frames("B") + $0.body) }
        var replies: [String: [String]] = [:]
        for _ in 0..<2 {
            let reply = try #require(try client.receive())
            replies[reply.tag] = reply.body
        }
        #expect(replies == ["r5": ["B", "r5"], "r6": ["B", "r6"]])
        // The leaving worker answers the three it started, then says DISCONNECT.
        for name in ["b1", "b2", "b3"] { gate.open(name) }
        for _ in 0..<3 {
            let reply = try #require(try client.receive())
            replies[reply.tag] = reply.body
        }
        for name in ["b1", "b2", "b3"] { #expect(replies[name] == ["A", name]) }
        #expect(leaving.exit().flatMap { try? $0.get() } == .handlerErrors(count: 1))
        let after = try await Self.awaitStats(broker) { $0.workersDisconnected == 1 }
        #expect(after.workersDisconnected == 1 && after.workerDied == 0 && after.retried == 0)
        #expect(gate.arrivals.sorted() == ["b1", "b2", "b3", "boom"], "r5 never reached the leaving worker's handler")
        _ = other
    }
}
