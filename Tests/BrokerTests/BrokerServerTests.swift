import BatonProtocol
import Broker
import Foundation
import Testing
import ZeroMQ

@Suite("The broker over real sockets", .serialized, .timeLimit(.minutes(2)))
struct BrokerServerTests {
    @Test("requests reach real workers in LRU order and replies come back to the right client")
    func lruAcrossRealWorkers() throws {
        let broker = try LiveBroker()
        for name in ["A", "B", "C"] { try broker.addWorker(name) }
        let client = try broker.client(.req)
        defer { broker.close(client) }
        var repliedBy: [String] = []
        for index in 0..<6 {
            try client.send(frames: frames("job\(index)"))
            let reply = texts(try client.receive())
            #expect(reply.count == 1 && reply[0].hasSuffix(":job\(index)"))
            repliedBy.append(String(reply.first?.prefix(1) ?? "?"))
        }
        // One request at a time: each worker goes to the back of the idle queue after answering.
        #expect(repliedBy == ["A", "B", "C", "A", "B", "C"])
    }

    @Test("a slow worker gets no second request while a fast one is idle")
    func slowWorkerDoesNotHoardRequests() throws {
        let broker = try LiveBroker()
        let gate = Gate()
        let slow = try broker.addWorker("slow", answerWhen: { gate.isOpen })
        let fast = try broker.addWorker("fast")
        let client = try broker.client()
        defer { broker.close(client) }
        for index in 0..<10 { try client.send(frames: frames("", "job\(index)")) }
        // job0 goes to the slow worker (idle longest), which holds it until the fast one has answered the rest.
        var replies: [String] = []
        for _ in 0..<9 { replies.append(texts(try client.receive()).last ?? "timeout") }
        #expect(replies == (1..<10).map { "fast:job\($0)" })
        gate.open()
        replies.append(texts(try client.receive()).last ?? "timeout")
        #expect(slow.served == ["job0"])
        #expect(fast.served.count == 9)
        #expect(replies.last == "slow:job0")
    }

    @Test("a DEALER client with 100 requests in flight gets 100 correct replies")
    func pipelinedDealerClient() throws {
        let broker = try LiveBroker()
        for name in ["w1", "w2", "w3", "w4"] { try broker.addWorker(name) }
        let client = try broker.client()
        defer { broker.close(client) }
        for index in 0..<100 { try client.send(frames: frames("", "req-\(index)")) }
        var seen = Set<String>()
        for _ in 0..<100 {
            let reply = texts(try client.receive())
            #expect(reply.count == 2 && reply[0].isEmpty)
            if let body = reply.last, let colon = body.firstIndex(of: ":") {
                seen.insert(String(body[body.index(after: colon)...]))
            }
        }
        #expect(seen == Set((0..<100).map { "req-\($0)" }))
        let stats = try broker.server.statsBlocking()
        #expect(stats.repliesForwarded == 100)
        #expect(stats.inFlight == 0)
    }

    @Test("a REQ client behind a ROUTER/DEALER hop gets its reply through both envelopes")
    func twoHopEnvelope() throws {
        let broker = try LiveBroker()
        try broker.addWorker("W")
        let context = broker.context
        let hopFront = try Socket(context, .router)
        let hopBack = try Socket(context, .dealer)
        let client = try Socket(context, .req)
        defer { broker.close(hopFront, hopBack, client) }
        for socket in [hopFront, hopBack, client] {
            socket.linger = 0
            try socket.setReceiveTimeout(milliseconds: 5_000)
        }
        try hopFront.bind("tcp://127.0.0.1:*")
        try hopBack.connect(broker.endpoints.frontend)
        try client.connect(try hopFront.lastEndpoint())
        try client.send(frames: frames("through two hops"))
        // The hop forwards by hand, as zmq_proxy would.
        let inbound = try #require(try hopFront.receive())
        #expect(inbound.count == 3)
        try hopBack.send(inbound)
        let outbound = try #require(try hopBack.receive())
        #expect(outbound.frames.prefix(2) == inbound.frames.prefix(2))
        try hopFront.send(outbound)
        #expect(texts(try client.receive()) == ["W:through two hops"])
    }

    @Test("malformed messages from clients and workers are dropped, counted, and service continues")
    func malformedInputDoesNotStopService() throws {
        let broker = try LiveBroker()
        try broker.addWorker("W")
        let client = try broker.client()
        let rogue = try Socket(broker.context, .dealer)
        defer { broker.close(client, rogue) }
        rogue.linger = 0
        try rogue.connect(broker.endpoints.backend)
        try client.send(frames: frames("no delimiter"))
        try client.send(frames: [[]])
        try client.send(frames: [Array(repeating: 0, count: 3), [0xff]])
        try rogue.send(frames: frames("gibberish", "from", "a rogue worker"))
        try rogue.send(frames: [[0x02]])
        try client.send(frames: frames("", "still served"))
        #expect(texts(try client.receive()) == ["", "W:still served"])
        try broker.waitUntil("malformed messages counted") {
            let stats = try broker.server.statsBlocking()
            return stats.malformedClientMessages == 3 && stats.malformedWorkerMessages == 1
                && stats.unknownHeartbeats == 1
        }
    }

    @Test("at its bound the queue stops growing, and expired requests get BATON-ERR expired")
    func queueBoundAndExpiry() throws {
        let broker = try LiveBroker { options in
            options.policy.maxQueued = 2
            options.policy.queueTimeout = .milliseconds(200)
        }
        let client = try broker.client()
        defer { broker.close(client) }
        for index in 0..<5 { try client.send(frames: frames("", "job\(index)")) }
        var codes: [String] = []
        for _ in 0..<5 {
            let reply = texts(try client.receive())
            codes.append(reply.count >= 3 && reply[1] == "BATON-ERR" ? reply[2] : "reply: \(reply)")
        }
        #expect(codes == Array(repeating: "expired", count: 5))
        let stats = try broker.server.statsBlocking()
        #expect(stats.maxQueueDepth == 2)
        #expect(stats.expired == 5)
    }

    @Test("a heartbeating worker that goes silent is removed, and its request is answered worker-died")
    func heartbeatExpiry() throws {
        let broker = try LiveBroker { options in
            options.policy.heartbeatInterval = .milliseconds(50)
            options.policy.heartbeatLiveness = 3
        }
        let worker = try Socket(broker.context, .dealer)
        let client = try broker.client()
        defer { broker.close(worker, client) }
        worker.linger = 0
        try worker.setReceiveTimeout(milliseconds: 5_000)
        try worker.connect(broker.endpoints.backend)
        try worker.send(frame: [0x01])
        try broker.waitUntil("worker registered") { try broker.server.statsBlocking().workers == 1 }
        try client.send(frames: frames("", "doomed"))
        var request: Message?
        repeat { request = try worker.receive() } while request?.frames == [[0x02]]
        #expect(request?.frames.count == 3 && request?.frames.last == Array("doomed".utf8))
        // The worker now hangs: no reply, no heartbeats.
        let reply = texts(try client.receive())
        #expect(reply.prefix(3) == ["", "BATON-ERR", "worker-died"])
        let stats = try broker.server.statsBlocking()
        #expect(stats.workersExpired == 1)
        #expect(stats.workers == 0)
    }

    @Test("graceful shutdown answers queued requests with shutting-down and lets in-flight ones finish")
    func gracefulShutdown() async throws {
        let broker = try LiveBroker()
        let server = broker.server
        // The in-flight request is answered only after the queued one got its shutting-down reply.
        try broker.addWorker("W", answerWhen: { ((try? server.statsBlocking())?.errorReplies ?? 1) >= 1 })
        let client = try broker.client()
        defer { broker.close(client) }
        try client.send(frames: frames("", "in flight"))
        try broker.waitUntil("request dispatched") { try broker.server.statsBlocking().inFlight == 1 }
        try client.send(frames: frames("", "queued"))
        try broker.waitUntil("request queued") { try broker.server.statsBlocking().queueDepth == 1 }
        await broker.server.shutdown(drainTimeout: .seconds(5))
        let first = texts(try client.receive())
        let second = texts(try client.receive())
        #expect(first.prefix(3) == ["", "BATON-ERR", "shutting-down"])
        #expect(second == ["", "W:in flight"])
    }

    @Test("a reply for a client that has disconnected is counted, and the broker keeps serving")
    func replyToVanishedClient() throws {
        let broker = try LiveBroker()
        try broker.addWorker("W", delayMilliseconds: 200)
        let leaving = try broker.client()
        try leaving.send(frames: frames("", "nobody will read this"))
        try broker.waitUntil("request dispatched") { try broker.server.statsBlocking().inFlight == 1 }
        leaving.close()
        try broker.waitUntil("reply dropped") { try broker.server.statsBlocking().unroutableReplies == 1 }
        let staying = try broker.client()
        defer { broker.close(staying) }
        try staying.send(frames: frames("", "still here"))
        #expect(texts(try staying.receive()) == ["", "W:still here"])
    }
}
