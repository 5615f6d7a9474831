import BatonProtocol
import Testing

@testable import Broker

@Suite("Worker capacity in READY, in the pure broker core")
struct BrokerCoreReadyCapacityTests {
    @Test("a DEALER READY may carry a capacity and capabilities; version 1 READYs have capacity 1")
    func validReady() {
        var broker = CoreHarness()
        broker.ready("v1")
        broker.readyHeartbeating("v1-dealer")
        broker.ready("k8", capacity: 8)
        broker.ready("max", capacity: WireProtocol.maxCapacity)
        broker.ready("hand", capacity: 4, capabilities: "stream handoff future-word")
        broker.ready("plain", capacity: 2, capabilities: "stream handoffs")
        broker.workerMessage([bytes("text-dealer"), bytes("READY")])
        let workers = broker.core.knownWorkers
        #expect(workers.count == 7)
        #expect(broker.core.stats.malformedWorkerMessages == 0)
        #expect(workers[bytes("v1")]?.capacity == 1 && workers[bytes("v1-dealer")]?.capacity == 1)
        #expect(workers[bytes("text-dealer")]?.capacity == 1)
        #expect(workers[bytes("k8")]?.capacity == 8 && workers[bytes("k8")]?.heartbeating == true)
        #expect(workers[bytes("max")]?.capacity == 1_000)
        #expect(workers[bytes("hand")]?.canHandOff == true && workers[bytes("hand")]?.capacity == 4)
        #expect(workers[bytes("plain")]?.canHandOff == false, "only the whole word counts")
        #expect(workers[bytes("k8")]?.canHandOff == false)
        #expect(broker.core.hasFreeCapacity)
    }

    @Test("a capacity frame that is not 1 to 1000 in plain decimal is malformed and registers nothing",
          arguments: ["0", "1001", "08", "+8", "-1", "", " 8", "8 ", "8x", "10000", "99999999999999999999", "٣"])
    func malformedCapacity(capacity: String) {
        var broker = CoreHarness()
        broker.workerMessage([bytes("bad"), [0x01], bytes(capacity)])
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.core.stats.malformedWorkerMessages == 1)
        #expect(ReadyMessage.capacity(bytes(capacity)) == nil)
    }

    @Test("too many frames, a capacity after text READY, or one in REQ framing: malformed, not registered")
    func malformedShapes() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("four"), [0x01], bytes("8"), bytes("handoff"), bytes("extra")])
        broker.workerMessage([bytes("text"), bytes("READY"), bytes("8")])
        broker.workerMessage([bytes("req"), [], [0x01], bytes("8")])
        broker.workerMessage([bytes("req-text"), [], bytes("READY"), bytes("8")])
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.core.stats.malformedWorkerMessages == 4)
        #expect(!broker.core.hasFreeCapacity)
    }

    @Test("a capacity in REQ framing from a REQ worker holding a request is its answer: bad-reply")
    func reqFramingCapacityFailsRequest() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.request(from: "c", "job")
        broker.workerMessage([bytes("W"), [], [0x01], bytes("8")])
        #expect(broker.takeErrorCodes() == ["bad-reply"])
        #expect(broker.core.knownWorkers[bytes("W")]?.capacity == 1)
        #expect(broker.core.stats.inFlight == 0)
    }

    @Test("capacity values parse exactly", arguments: [("1", 1), ("9", 9), ("10", 10), ("32", 32), ("1000", 1_000)])
    func capacityValues(frame: String, value: Int) {
        #expect(ReadyMessage.capacity(bytes(frame)) == value)
    }

    @Test("READY again from a worker holding K requests: all K are lost, and it takes its new capacity")
    func readyAgainTakesNewCapacity() {
        var broker = CoreHarness { $0.retryOnCrash = 1 }
        broker.ready("K", capacity: 3)
        broker.requests(1...3)
        #expect(broker.inFlight("K") == 3)
        _ = broker.takeDispatches()
        broker.ready("K", capacity: 2)
        #expect(broker.core.knownWorkers[bytes("K")]?.capacity == 2)
        #expect(broker.core.stats.retried == 3)
        #expect(broker.takeDispatches().map(\.body) == ["r1", "r2"], "retried in order, up to the new capacity")
        #expect(broker.core.stats.queueDepth == 1 && broker.core.stats.inFlight == 2)
        broker.ready("K")
        #expect(broker.core.knownWorkers[bytes("K")]?.capacity == 1)
        #expect(broker.takeErrorCodes() == ["worker-died", "worker-died"], "their second loss exhausts the retries")
        #expect(broker.takeDispatches().map(\.body) == ["r3"])
        #expect(broker.core.stats.inFlight == 1 && broker.core.stats.queueDepth == 0)
    }
}

@Suite("Shortest-expected-delay dispatch, in the pure broker core")
struct BrokerCoreExpectedDelayTests {
    /// Workers A and S of capacity `capacity`, measured at `fastTenths` and `slowTenths` tenths of a millisecond.
    func measured(fastTenths: UInt64, slowTenths: UInt64, capacity: Int = 8) -> CoreHarness {
        var broker = CoreHarness()
        broker.ready("A", capacity: capacity)
        broker.ready("S", capacity: capacity)
        broker.requests(0...1)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "S"])
        broker.now += .microseconds(fastTenths * 100)
        broker.answer("A", body: "r0")
        broker.now += .microseconds((slowTenths - fastTenths) * 100)
        broker.answer("S", body: "r1")
        _ = broker.takeReplies()
        #expect(broker.core.knownWorkers[bytes("A")]?.serviceTime == .microseconds(fastTenths * 100))
        #expect(broker.core.knownWorkers[bytes("S")]?.serviceTime == .microseconds(slowTenths * 100))
        return broker
    }

    @Test("before any measurement the worker with the fewest requests in flight wins, ties to the least recently used")
    func fewestInFlightFirst() {
        var broker = CoreHarness()
        broker.ready("A", capacity: 4)
        broker.ready("B", capacity: 4)
        broker.requests(1...5)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "B", "A", "B", "A"])
        broker.ready("C", capacity: 4)
        broker.requests(6...8)
        #expect(broker.takeDispatches().map(\.worker) == ["C", "C", "B"], "C has the fewest until it ties, then LRU")
    }

    @Test("measured workers with equal service times take turns: ties go to the least recently used")
    func equalCostTiesByLRU() {
        var broker = measured(fastTenths: 20, slowTenths: 20)
        broker.requests(2...7)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "S", "A", "S", "A", "S"])
    }

    @Test("a measured slow worker gets nothing while fast ones have room, and work once they are busier than slow")
    func slowWorkerOnlyWhenWorthIt() {
        // A answers in 1 ms, S in 4.5 ms: A's expected delay (n+1) × 1 ms stays under S's 4.5 ms for n < 4.
        var broker = measured(fastTenths: 10, slowTenths: 45)
        broker.requests(2...11)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "A", "A", "A", "S", "A", "A", "A", "A", "S"])
        #expect(broker.inFlight("A") == 8 && broker.inFlight("S") == 2)
        #expect(broker.core.hasFreeCapacity, "S still has room")
    }

    @Test("with three fast workers and one ten times slower, 16 requests in flight all go to the fast ones")
    func tenTimesSlower() {
        var broker = CoreHarness()
        for worker in ["F1", "F2", "F3", "slow"] { broker.ready(worker, capacity: 8) }
        broker.requests(0...3)
        #expect(broker.takeDispatches().map(\.worker) == ["F1", "F2", "F3", "slow"])
        broker.now += .milliseconds(1)
        for (worker, index) in [("F1", 0), ("F2", 1), ("F3", 2)] { broker.answer(worker, body: "r\(index)") }
        broker.now += .milliseconds(9)
        broker.answer("slow", body: "r3")
        broker.requests(4...19)
        let workers = broker.takeDispatches().map(\.worker)
        #expect(workers.count == 16 && !workers.contains("slow"))
        #expect(broker.inFlight("F1") + broker.inFlight("F2") + broker.inFlight("F3") == 16)
    }

    @Test("a worker with no measurement yet counts as fast as the fastest measured one")
    func unmeasuredCountsAsFastest() {
        var broker = measured(fastTenths: 10, slowTenths: 100)
        broker.requests(2...3)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "A"])
        broker.ready("N", capacity: 8)
        broker.requests(4...6)
        #expect(broker.takeDispatches().map(\.worker) == ["N", "N", "A"],
                "N at 0 and 1 in flight beats A at 2; at 2 it ties with A at 2 and A was used less recently")
    }

    @Test("a service time is an average with weight 1/8 over dispatch-to-reply times")
    func serviceTimeAverage() {
        var broker = CoreHarness()
        broker.ready("A", capacity: 2)
        broker.request(from: "c", "r0")
        broker.now += .milliseconds(8)
        broker.answer("A", body: "r0")
        broker.request(from: "c", "r1")
        broker.now += .milliseconds(16)
        broker.answer("A", body: "r1")
        #expect(broker.core.knownWorkers[bytes("A")]?.serviceTime == .milliseconds(9))
    }

    @Test("a request's service time starts at the worker's previous reply when it waited behind other requests")
    func serviceTimeExcludesWaitBehindOthers() {
        // A serves its requests one after another, 1 ms each: it answers at 1, 2 and 3 ms. Dispatch-to-reply
        // times would be 1, 2 and 3 ms; the service time stays 1 ms.
        var broker = CoreHarness()
        broker.ready("A", capacity: 4)
        broker.requests(0...2)
        for index in 0...2 {
            broker.now += .milliseconds(1)
            broker.answer("A", body: "r\(index)")
        }
        #expect(broker.core.knownWorkers[bytes("A")]?.serviceTime == .milliseconds(1))
        broker.now += .milliseconds(5)
        broker.requests(3...3)
        broker.now += .milliseconds(2)
        broker.answer("A", body: "r3")
        #expect(broker.core.knownWorkers[bytes("A")]?.serviceTime == .microseconds((1_000 * 7 + 2_000) / 8),
                "after an idle spell the time counts from the dispatch")
    }

    @Test("with three fast workers queueing their requests and one ten times slower, the slow one stays out")
    func queueingFastWorkersKeepSlowOneOut() {
        // Each fast worker serves its requests one after another in 1 ms; the slow one takes 10 ms. With 12
        // requests in flight the fast ones hold 4 each (expected delay 5 ms), under the slow one's 10 ms.
        var broker = CoreHarness()
        for worker in ["F1", "F2", "F3", "slow"] { broker.ready(worker, capacity: 8) }
        broker.requests(0...3)
        _ = broker.takeDispatches()
        broker.now += .milliseconds(1)
        for (worker, index) in [("F1", 0), ("F2", 1), ("F3", 2)] { broker.answer(worker, body: "r\(index)") }
        broker.now += .milliseconds(9)
        broker.answer("slow", body: "r3")
        broker.requests(4...15)
        #expect(broker.takeDispatches().allSatisfy { $0.worker != "slow" })
        for round in 0..<3 {
            broker.now += .milliseconds(1)
            for worker in ["F1", "F2", "F3"] {
                guard let oldest = broker.held(worker).first else { continue }
                broker.answer(worker, body: oldest.body.map(text).joined(separator: "|"))
            }
            broker.requests((16 + round * 3)...(18 + round * 3))
        }
        #expect(broker.takeDispatches().allSatisfy { $0.worker != "slow" })
        #expect(broker.inFlight("slow") == 0)
        #expect(broker.core.knownWorkers[bytes("F1")]?.serviceTime == .milliseconds(1))
    }

    @Test("while every worker has capacity 1 dispatch is exact LRU, also after a worker of higher capacity left")
    func capacityOnePoolsStayLRU() {
        var broker = CoreHarness()
        for worker in ["A", "B", "C"] { broker.ready(worker) }
        broker.ready("K", capacity: 4)
        broker.requests(1...3)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "B", "C"])
        broker.processEnded("K")
        for worker in ["C", "A", "B"] { broker.answer(worker) }
        #expect(broker.core.idleWorkers == [bytes("C"), bytes("A"), bytes("B")])
        broker.requests(4...6)
        #expect(broker.takeDispatches().map(\.worker) == ["C", "A", "B"])
        #expect(broker.core.idleWorkers.isEmpty)
    }

    @Test("a mixed pool: capacity-1 workers take part in the expected-delay choice and leave the idle list when busy")
    func mixedPool() {
        var broker = CoreHarness()
        broker.ready("one")
        broker.ready("K", capacity: 3)
        broker.requests(1...5)
        #expect(broker.takeDispatches().map(\.worker) == ["one", "K", "K", "K"])
        #expect(!broker.core.hasFreeCapacity && broker.core.stats.queueDepth == 1)
        #expect(broker.core.stats.idleWorkers == 0)
        broker.answer("one")
        #expect(broker.takeDispatches().map(\.worker) == ["one"])
        broker.answer("one")
        #expect(broker.core.idleWorkers == [bytes("one")] && broker.core.stats.idleWorkers == 1)
        #expect(broker.core.hasFreeCapacity)
    }
}
