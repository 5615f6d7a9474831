import BatonProtocol
import Testing

@testable import Broker

@Suite("LRU dispatch in the pure broker core")
struct BrokerCoreDispatchTests {
    @Test("requests go to idle workers in the order they became ready")
    func lruOrderOfReadiness() {
        var broker = CoreHarness()
        for worker in ["A", "B", "C"] { broker.ready(worker) }
        for index in 1...3 { broker.request(from: "c\(index)", "r\(index)") }
        #expect(broker.takeDispatches().map(\.worker) == ["A", "B", "C"])
    }

    @Test("the worker that has waited longest gets the next request")
    func leastRecentlyUsedWins() {
        var broker = CoreHarness()
        for worker in ["A", "B", "C"] { broker.ready(worker) }
        for index in 1...3 { broker.request(from: "c", "r\(index)") }
        _ = broker.takeDispatches()
        broker.answer("C")
        broker.answer("A")
        broker.answer("B")
        broker.request(from: "c", "next1")
        broker.request(from: "c", "next2")
        #expect(broker.takeDispatches().map(\.worker) == ["C", "A"])
    }

    @Test("a busy slow worker gets no second request while a fast one is idle")
    func slowWorkerIsSkipped() {
        var broker = CoreHarness()
        broker.ready("slow")
        broker.ready("fast")
        broker.request(from: "c", "r0")
        broker.request(from: "c", "r1")
        _ = broker.takeDispatches()
        for index in 2..<10 {
            broker.answer("fast")
            broker.request(from: "c", "r\(index)")
            #expect(broker.takeDispatches().map(\.worker) == ["fast"])
        }
        #expect(broker.held("slow").map { $0.body.first } == [bytes("r0")])
    }

    @Test("a reply goes back with the client's whole envelope, however many hops it has")
    func envelopeIsPreserved() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.clientMessage([bytes("proxy"), bytes("client"), [], bytes("part1"), bytes("part2")])
        #expect(broker.takeDispatches().map(\.body) == ["part1|part2"])
        broker.answer("W", prefix: "ok-")
        let replies = broker.takeReplies()
        #expect(replies.count == 1)
        #expect(replies.first?.envelope == ["proxy", "client"])
        #expect(replies.first?.body == ["ok-part1", "ok-part2"])
    }

    @Test("requests wait in the queue until a worker is ready")
    func queueHoldsUntilReady() {
        var broker = CoreHarness()
        broker.request(from: "c1", "first")
        broker.request(from: "c2", "second")
        #expect(broker.core.stats.queueDepth == 2)
        #expect(broker.takeDispatches().isEmpty)
        broker.ready("W")
        #expect(broker.takeDispatches().map(\.body) == ["first"])
        broker.answer("W")
        #expect(broker.takeDispatches().map(\.body) == ["second"])
        #expect(broker.core.stats.queueDepth == 0)
    }

    @Test("the frontend is not read once the queue reaches its bound")
    func queueBound() {
        var broker = CoreHarness { $0.maxQueued = 3 }
        for index in 0..<3 {
            #expect(broker.core.acceptsRequests)
            broker.request(from: "c", "r\(index)")
        }
        #expect(!broker.core.acceptsRequests)
        broker.ready("W")
        #expect(broker.core.acceptsRequests)
        #expect(broker.core.stats.maxQueueDepth == 3)
    }

    @Test("a queued request older than the queue timeout gets an expired error")
    func queueExpiry() {
        var broker = CoreHarness { $0.queueTimeout = .milliseconds(500) }
        broker.request(from: "old", "r0")
        broker.advance(milliseconds: 300)
        broker.request(from: "young", "r1")
        #expect(broker.core.nextDeadline == broker.now + .milliseconds(200))
        broker.advance(milliseconds: 250)
        let replies = broker.takeReplies()
        #expect(replies.map(\.envelope) == [["old"]])
        #expect(replies.first?.body.prefix(2) == ["BATON-ERR", "expired"])
        #expect(broker.core.stats.queueDepth == 1)
        #expect(broker.core.stats.expired == 1)
    }

    @Test("malformed client messages are dropped and counted")
    func malformedClientMessages() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.clientMessage([bytes("c"), bytes("no delimiter")])
        broker.clientMessage([bytes("c"), []])
        broker.clientMessage([[], bytes("body")])
        #expect(broker.core.stats.malformedClientMessages == 3)
        #expect(broker.takeDispatches().isEmpty)
        broker.request(from: "c", "fine")
        #expect(broker.takeDispatches().map(\.body) == ["fine"])
    }

    @Test("shutdown answers every queued request with shutting-down and stops reading")
    func shutdownAnswersQueue() {
        var broker = CoreHarness()
        broker.request(from: "c1", "a")
        broker.request(from: "c2", "b")
        var out: [BrokerAction] = []
        broker.core.beginShutdown(now: broker.now, into: &out)
        broker.sent += out
        let replies = broker.takeReplies()
        #expect(replies.map(\.envelope) == [["c1"], ["c2"]])
        #expect(replies.allSatisfy { $0.body.prefix(2) == ["BATON-ERR", "shutting-down"] })
        #expect(!broker.core.acceptsRequests)
    }

    @Test("request tokens round-trip and reject frames of the wrong size")
    func tokens() {
        for id: UInt64 in [0, 1, 255, 256, .max] {
            #expect(WireProtocol.requestID(fromToken: WireProtocol.token(for: id)) == id)
        }
        #expect(WireProtocol.requestID(fromToken: [1, 2, 3]) == nil)
    }
}
