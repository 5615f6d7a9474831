import BatonProtocol
import Testing

@testable import Broker

@Suite("Worker liveness, loss and bad replies in the pure broker core")
struct BrokerCoreWorkerTests {
    @Test("a heartbeat refreshes liveness but never makes a busy worker idle")
    func heartbeatDoesNotFreeBusyWorker() {
        var broker = CoreHarness()
        broker.readyHeartbeating("H")
        broker.request(from: "c", "r0")
        _ = broker.takeDispatches()
        broker.workerMessage([bytes("H"), [0x02]])
        broker.request(from: "c", "r1")
        #expect(broker.takeDispatches().isEmpty)
        #expect(broker.core.stats.queueDepth == 1)
    }

    @Test("the broker sends heartbeats to heartbeating workers each interval")
    func heartbeatsAreSent() {
        var broker = CoreHarness { $0.heartbeatInterval = .milliseconds(100) }
        broker.readyHeartbeating("H")
        broker.ready("R")
        broker.advance(milliseconds: 50)
        #expect(broker.heartbeats().isEmpty)
        broker.advance(milliseconds: 60)
        #expect(broker.heartbeats() == ["H"])
    }

    @Test("a heartbeating worker silent past its liveness is removed and its request answered worker-died")
    func silentWorkerExpires() {
        var broker = CoreHarness {
            $0.heartbeatInterval = .milliseconds(100)
            $0.heartbeatLiveness = 3
        }
        broker.readyHeartbeating("H")
        broker.request(from: "c", "r0")
        for _ in 0..<3 {
            broker.advance(milliseconds: 100)
            broker.workerMessage([bytes("H"), [0x02]])
        }
        #expect(broker.core.knownWorkers.count == 1)
        for _ in 0..<4 { broker.advance(milliseconds: 100) }
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.core.stats.workersExpired == 1)
        let replies = broker.takeReplies()
        #expect(replies.map(\.envelope) == [["c"]])
        #expect(replies.first?.body.prefix(2) == ["BATON-ERR", "worker-died"])
    }

    @Test("with retry-on-crash a lost worker's request is served by another worker")
    func retryOnCrash() {
        var broker = CoreHarness {
            $0.retryOnCrash = 1
            $0.heartbeatInterval = .milliseconds(100)
            $0.heartbeatLiveness = 1
        }
        broker.readyHeartbeating("H")
        broker.request(from: "c", "job")
        #expect(broker.takeDispatches().map(\.worker) == ["H"])
        broker.ready("R")
        broker.advance(milliseconds: 100)
        broker.advance(milliseconds: 150)
        #expect(broker.takeDispatches().map(\.worker) == ["R"])
        #expect(broker.core.stats.retried == 1)
        broker.answer("R")
        #expect(broker.takeReplies().map(\.body) == [["job"]])
    }

    @Test("a worker that cannot be reached loses nothing: its request goes to the next worker")
    func unreachableWorker() {
        var broker = CoreHarness()
        broker.ready("gone")
        broker.ready("here")
        broker.request(from: "c", "job")
        #expect(broker.takeDispatches().map(\.worker) == ["gone"])
        var out: [BrokerAction] = []
        broker.core.workerUnreachable(bytes("gone"), undelivered: broker.held("gone").map(\.id), now: broker.now,
                                      into: &out)
        broker.sent += out
        #expect(broker.takeDispatches().map(\.worker) == ["here"])
        #expect(broker.held("here").map(\.attempts) == [1])
        #expect(broker.core.stats.workersUnreachable == 1)
        #expect(broker.core.stats.errorReplies == 0)
    }

    @Test("a REQ worker that sends a malformed message instead of a reply fails the request with bad-reply")
    func malformedReplyFailsRequest() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.request(from: "c", "job")
        broker.workerMessage([bytes("W"), [], bytes("garbage")])
        #expect(broker.core.stats.malformedWorkerMessages == 1)
        #expect(broker.takeReplies().first?.body.prefix(2) == ["BATON-ERR", "bad-reply"])
        broker.request(from: "c", "next")
        #expect(broker.takeDispatches().map(\.worker) == ["W", "W"])
    }

    @Test("a reply with a token the worker does not hold is dropped as stale")
    func staleReply() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.request(from: "c", "job")
        broker.workerMessage([bytes("W"), [], WireProtocol.token(for: 999), [], bytes("late")])
        #expect(broker.core.stats.staleReplies == 1)
        #expect(broker.takeReplies().isEmpty)
        broker.answer("W")
        #expect(broker.takeReplies().map(\.body) == [["job"]])
    }

    @Test("READY from a worker that held a request means it restarted: the request is answered worker-died")
    func readyAgainWhileBusy() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.request(from: "c", "job")
        broker.ready("W")
        #expect(broker.takeReplies().first?.body.prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(broker.core.idleWorkers == [bytes("W")])
        #expect(broker.core.stats.inFlight == 0)
    }

    @Test("DEALER workers get requests without a delimiter before the token")
    func dealerFraming() {
        var broker = CoreHarness()
        broker.readyHeartbeating("D")
        broker.request(from: "c", "job")
        guard case .dispatch(_, let framing, let token, _)? = broker.sent.last else {
            Issue.record("no dispatch")
            return
        }
        #expect(framing == .dealer)
        broker.workerMessage([bytes("D"), token, [], bytes("done")])
        #expect(broker.takeReplies().map(\.body) == [["done"]])
    }
}

@Suite("Request timeouts and ended worker processes in the pure broker core")
struct BrokerCoreTimeoutTests {
    @Test("a request past the request timeout drops its managed worker as hung, answers worker-died, ignores it")
    func requestTimeout() {
        var broker = CoreHarness { $0.requestTimeout = .milliseconds(500) }
        broker.core.workerProcessStarted(bytes("slow"))
        broker.ready("slow")
        broker.request(from: "c", "job")
        broker.advance(milliseconds: 300)
        #expect(broker.core.knownWorkers.count == 1)
        broker.advance(milliseconds: 250)
        #expect(broker.sent.contains { if case .worker(.hung(let id, _)) = $0 { id == bytes("slow") } else { false } })
        #expect(broker.takeReplies().first?.body.prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(broker.core.stats.workersHung == 1)
        // A late reply or a fresh READY from the hung worker does not bring it back.
        broker.workerMessage([bytes("slow"), [], WireProtocol.token(for: 1), [], bytes("late")])
        broker.ready("slow")
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.takeReplies().isEmpty)
    }

    @Test("a dropped managed worker whose end is never reported is accepted again once its ban has run out")
    func banExpires() {
        var broker = CoreHarness { $0.requestTimeout = .milliseconds(100) }
        broker.core.workerProcessStarted(bytes("ext"))
        broker.ready("ext")
        broker.request(from: "c", "job")
        broker.advance(milliseconds: 150)
        #expect(broker.core.stats.workersHung == 1)
        broker.ready("ext")
        #expect(broker.core.knownWorkers.isEmpty, "still banned")
        broker.advance(milliseconds: 31_000)
        broker.ready("ext")
        #expect(broker.core.knownWorkers.count == 1, "back after the ban")
    }

    @Test("when the supervisor reports a worker's process ended, its request is answered at once")
    func processEnded() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.request(from: "c", "job")
        var out: [BrokerAction] = []
        broker.core.workerProcessEnded(bytes("W"), reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: broker.now, into: &out)
        broker.sent += out
        let reply = broker.takeReplies().first
        #expect(reply?.body.prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(reply?.body.last?.contains("signal 9") == true)
        #expect(broker.core.knownWorkers.isEmpty)
    }
}

@Suite("Draining workers for a rolling update, in the pure broker core")
struct BrokerCoreDrainTests {
    func drained(_ broker: CoreHarness) -> [String] {
        broker.sent.compactMap { if case .worker(.drained(let id)) = $0 { text(id) } else { nil } }
    }

    @Test("an idle worker drains at once and gets no more requests")
    func idleDrain() {
        var broker = CoreHarness()
        broker.ready("old")
        broker.ready("new")
        var out: [BrokerAction] = []
        broker.core.drainWorker(bytes("old"), into: &out)
        broker.sent += out
        #expect(drained(broker) == ["old"])
        broker.request(from: "c", "a")
        broker.request(from: "c", "b")
        #expect(broker.takeDispatches().map(\.worker) == ["new"])
    }

    @Test("a busy worker finishes its request, is reported drained, and is not made idle")
    func busyDrain() {
        var broker = CoreHarness()
        broker.ready("old")
        broker.request(from: "c", "in flight")
        var out: [BrokerAction] = []
        broker.core.drainWorker(bytes("old"), into: &out)
        broker.sent += out
        #expect(drained(broker).isEmpty)
        broker.request(from: "c", "waits")
        broker.answer("old")
        #expect(drained(broker) == ["old"])
        #expect(broker.takeReplies().map(\.body) == [["in flight"]])
        #expect(broker.core.idleWorkers.isEmpty)
        #expect(broker.core.stats.queueDepth == 1, "the next request waits for a new worker")
        broker.ready("new")
        #expect(broker.takeDispatches().map(\.worker).last == "new")
    }

    @Test("draining a worker the broker does not know reports it drained at once")
    func unknownDrain() {
        var broker = CoreHarness()
        var out: [BrokerAction] = []
        broker.core.drainWorker(bytes("ghost"), into: &out)
        broker.sent += out
        #expect(drained(broker) == ["ghost"])
    }
}
