import BatonProtocol
import Testing

@testable import Broker

@Suite("Everything per request for workers of higher capacity, in the pure broker core")
struct BrokerCoreCapacityFaultTests {
    @Test("replies in any order each reach their own client; capacity frees one request at a time")
    func outOfOrderReplies() {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.ready("K", capacity: 4)
        for index in 1...3 { broker.request(from: "c\(index)", "r\(index)") }
        #expect(broker.inFlight("K") == 3 && broker.core.stats.inFlight == 3)
        broker.answer("K", body: "r3")
        broker.answer("K", body: "r1")
        #expect(broker.inFlight("K") == 1 && broker.core.stats.inFlight == 1)
        broker.answer("K", body: "r2")
        let replies = broker.takeReplies()
        #expect(replies.map(\.envelope) == [["c3"], ["c1"], ["c2"]])
        #expect(replies.map(\.body) == [["r3"], ["r1"], ["r2"]])
        #expect(broker.core.stats.inFlight == 0 && broker.core.stats.repliesForwarded == 3)
        #expect(broker.core.knownWorkers[bytes("K")]?.served == 3)
        let dispatched = broker.records.compactMap {
            if case .requestDispatched(let id, let worker, _, _) = $0 { (id, text(worker)) } else { nil }
        }
        #expect(dispatched.map(\.0) == [1, 2, 3] && dispatched.allSatisfy { $0.1 == "K" })
        let replied = broker.records.compactMap { if case .requestReplied(let id, _, _) = $0 { id } else { nil } }
        #expect(replied == [3, 1, 2])
    }

    @Test("every request of a dead worker is retried in order under retry-on-crash")
    func deadWorkerRequestsRetried() {
        var broker = CoreHarness { $0.retryOnCrash = 1 }
        broker.ready("K", capacity: 3)
        broker.requests(1...3)
        _ = broker.takeDispatches()
        broker.processEnded("K")
        #expect(broker.core.stats.retried == 3 && broker.core.stats.queueDepth == 3)
        #expect(broker.core.stats.inFlight == 0)
        #expect(broker.sent.contains { if case .worker(.lost(_, _, true)) = $0 { true } else { false } })
        broker.ready("spare", capacity: 3)
        #expect(broker.takeDispatches().map(\.body) == ["r1", "r2", "r3"])
        #expect(broker.held("spare").map(\.attempts) == [2, 2, 2])
        #expect(broker.takeReplies().isEmpty)
    }

    @Test("every request of a dead worker is answered worker-died without retries")
    func deadWorkerRequestsAnswered() {
        var broker = CoreHarness()
        broker.ready("K", capacity: 3)
        for index in 1...3 { broker.request(from: "c\(index)", "r\(index)") }
        broker.processEnded("K")
        let replies = broker.takeReplies()
        #expect(Set(replies.map(\.envelope)) == [["c1"], ["c2"], ["c3"]])
        #expect(replies.allSatisfy { $0.body.prefix(2) == ["BATON-ERR", "worker-died"] })
        #expect(broker.core.stats.workerDied == 3 && broker.core.stats.inFlight == 0)
        #expect(!broker.core.hasFreeCapacity)
    }

    @Test("a draining worker holding K requests gets no more and is drained only after its last reply")
    func drainHoldingK() {
        var broker = CoreHarness()
        broker.ready("old", capacity: 3)
        broker.requests(1...3)
        broker.ready("new", capacity: 3)
        _ = broker.takeDispatches()
        broker.drain("old")
        #expect(broker.drained.isEmpty)
        broker.requests(4...5)
        #expect(broker.takeDispatches().map(\.worker) == ["new", "new"])
        broker.answer("old", body: "r2")
        broker.answer("old", body: "r1")
        #expect(broker.drained.isEmpty)
        broker.requests(6...6)
        #expect(broker.takeDispatches().map(\.worker) == ["new"], "answers free no capacity on a draining worker")
        broker.answer("old", body: "r3")
        #expect(broker.drained == ["old"])
        #expect(broker.takeReplyBodies() == ["r2", "r1", "r3"])
        #expect(!broker.core.hasFreeCapacity, "new is full and old takes nothing")
        broker.requests(7...7)
        #expect(broker.core.stats.queueDepth == 1)
    }

    @Test("any request held past the timeout marks its worker hung; all K are answered")
    func perRequestTimeout() {
        var broker = CoreHarness { $0.requestTimeout = .milliseconds(100) }
        broker.ready("K", capacity: 4)
        broker.request(from: "c", "r1")
        broker.advance(milliseconds: 50)
        broker.request(from: "c", "r2")
        broker.advance(milliseconds: 49)
        #expect(broker.core.knownWorkers.count == 1)
        broker.advance(milliseconds: 12)
        #expect(broker.core.knownWorkers.isEmpty && broker.core.stats.workersHung == 1)
        #expect(broker.takeErrorCodes() == ["worker-died", "worker-died"])
        #expect(broker.core.stats.inFlight == 0)
    }

    @Test("a worker always holding something is not hung while each request is answered within the timeout")
    func busyButNotHung() {
        var broker = CoreHarness { $0.requestTimeout = .milliseconds(100) }
        broker.ready("K", capacity: 2)
        broker.request(from: "c", "r0")
        broker.advance(milliseconds: 30)
        broker.request(from: "c", "r1")
        for index in 2...12 {
            broker.advance(milliseconds: 30)
            guard let oldest = broker.held("K").first else {
                Issue.record("K holds nothing")
                return
            }
            broker.answer("K", body: oldest.body.map(text).joined(separator: "|"))
            broker.request(from: "c", "r\(index)")
        }
        // It held a request for 360 ms on end, each one for 60 ms.
        #expect(broker.core.stats.workersHung == 0 && broker.core.knownWorkers.count == 1)
        #expect(broker.takeReplyBodies() == (0...10).map { "r\($0)" })
    }

    @Test("a second reply to an answered token is stale; the worker's other requests are untouched")
    func duplicateReplyIsStale() {
        var broker = CoreHarness()
        broker.ready("K", capacity: 2)
        broker.requests(1...2)
        let first = broker.held("K")[0]
        broker.answer("K", body: "r1")
        broker.workerMessage([bytes("K"), first.id.token, [], bytes("again")])
        #expect(broker.core.stats.staleReplies == 1)
        #expect(broker.takeReplyBodies() == ["r1"])
        #expect(broker.inFlight("K") == 1 && broker.core.stats.inFlight == 1)
        broker.answer("K", body: "r2")
        #expect(broker.takeReplyBodies() == ["r2"])
    }

    @Test("a failed dispatch requeues only that request without an attempt; the others the worker held are lost")
    func unreachableWithK() {
        var broker = CoreHarness()
        broker.ready("K", capacity: 3)
        broker.requests(1...3)
        _ = broker.takeDispatches()
        let undelivered = broker.held("K").last.map { [$0.id] } ?? []
        var out: [BrokerAction] = []
        broker.core.workerUnreachable(bytes("K"), undelivered: undelivered, now: broker.now, into: &out)
        broker.sent += out
        #expect(broker.takeErrorCodes() == ["worker-died", "worker-died"])
        #expect(broker.core.stats.queueDepth == 1 && broker.core.stats.inFlight == 0)
        broker.ready("other", capacity: 3)
        #expect(broker.takeDispatches().map(\.body) == ["r3"])
        #expect(broker.held("other").map(\.attempts) == [1])
    }

    @Test("a closed connection covers every request held on it; replies on a new connection still arrive")
    func connectionLossCoversK() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("K"), [0x01], bytes("4")], connection: 7)
        broker.requests(1...3)
        broker.connectionClosed(7)
        broker.answer("K", body: "r2", connection: 9)
        #expect(broker.takeReplyBodies() == ["r2"])
        broker.requests(4...4)
        broker.workerMessage([bytes("K"), [0x02]], connection: 9)
        #expect(broker.takeErrorCodes() == ["bad-reply", "bad-reply"])
        #expect(broker.held("K").map { $0.body.map(text) } == [["r4"]], "sent after the close: not lost")
        #expect(broker.core.stats.inFlight == 1)
    }

    @Test("at shutdown's drain timeout every request of every worker is answered and late replies are stale")
    func failInFlightWithK() {
        var broker = CoreHarness()
        broker.ready("K", capacity: 3)
        broker.ready("one")
        broker.requests(1...4)
        let token = broker.held("K")[0].id.token
        var out: [BrokerAction] = []
        broker.core.failInFlight(reason: "drain timeout", now: broker.now, into: &out)
        broker.sent += out
        #expect(broker.takeErrorCodes() == Array(repeating: "worker-died", count: 4))
        #expect(broker.core.inFlightCount == 0)
        broker.workerMessage([bytes("K"), token, [], bytes("late")])
        #expect(broker.core.stats.staleReplies == 1 && broker.takeReplies().isEmpty)
    }

    @Test("free capacity is tracked as requests come and go, and idle workers are those holding none")
    func freeCapacityAccounting() {
        var broker = CoreHarness()
        broker.ready("K", capacity: 2)
        #expect(broker.core.hasFreeCapacity && broker.core.stats.idleWorkers == 1)
        broker.requests(1...2)
        #expect(!broker.core.hasFreeCapacity && broker.core.stats.idleWorkers == 0)
        broker.answer("K", body: "r1")
        #expect(broker.core.hasFreeCapacity && broker.core.stats.idleWorkers == 0)
        broker.answer("K", body: "r2")
        #expect(broker.core.stats.idleWorkers == 1 && broker.core.idleWorkers == [bytes("K")])
        broker.drain("K")
        #expect(!broker.core.hasFreeCapacity && broker.core.stats.idleWorkers == 0)
    }
}
