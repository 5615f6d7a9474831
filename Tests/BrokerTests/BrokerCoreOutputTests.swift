import BatonProtocol
import Testing

@testable import Broker

@Suite("What the broker's state machine asks for besides sends: worker events and history records")
struct BrokerCoreOutputTests {
    func records(_ broker: CoreHarness) -> [HistoryEvent] {
        broker.sent.compactMap { if case .record(let event) = $0 { event } else { nil } }
    }

    func workerEvents(_ broker: CoreHarness) -> [WorkerEvent] {
        broker.sent.compactMap { if case .worker(let event) = $0 { event } else { nil } }
    }

    @Test("with history on, a request's life is recorded in order: received, dispatched, replied")
    func requestRecords() {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.ready("w1")
        broker.advance(milliseconds: 1)
        broker.request(from: "c1", "hello")
        broker.advance(milliseconds: 2)
        broker.answer("w1")
        let at = broker.now
        let expected: [HistoryEvent] = [
            .workerReady(workerID: WorkerID("w1"), at: at - .milliseconds(3)),
            .requestReceived(id: RequestID(1), client: ClientID(routingID: bytes("c1")), bytes: 5, at: at - .milliseconds(2)),
            .requestDispatched(id: RequestID(1), worker: WorkerID("w1"), attempt: 1, at: at - .milliseconds(2)),
            .requestReplied(id: RequestID(1), bytes: 5, at: at),
        ]
        #expect(records(broker) == expected)
    }

    @Test("with history off, nothing is recorded but worker events still reach the supervisor")
    func historyOff() {
        var broker = CoreHarness()
        broker.ready("w1")
        broker.request(from: "c1", "hello")
        broker.answer("w1")
        #expect(records(broker).isEmpty)
        #expect(workerEvents(broker) == [.ready(worker: bytes("w1"), heartbeating: false)])
    }

    @Test("a lost worker's request is recorded as requeued with retries, or failed without")
    func lostWorkerRecords() {
        for retries in [0, 1] {
            var broker = CoreHarness {
                $0.recordHistory = true
                $0.retryOnCrash = retries
            }
            broker.ready("w1")
            broker.request(from: "c1", "hello")
            broker.sent.removeAll()
            var out: [BrokerAction] = []
            broker.core.workerProcessEnded(bytes("w1"), reason: .processEnded(.crashed, ProcessExit(code: 1)), now: broker.now, into: &out)
            broker.sent += out
            #expect(workerEvents(broker) == [.lost(worker: bytes("w1"), reason: .processEnded(.crashed, ProcessExit(code: 1)), hadRequest: true)])
            let expected: HistoryEvent = retries == 0
                ? .requestFailed(id: 1, code: .workerDied, at: broker.now)
                : .requestRequeued(id: 1, at: broker.now)
            #expect(records(broker) == [.workerLost(workerID: WorkerID("w1"), reason: .processEnded(.crashed, ProcessExit(code: 1)), at: broker.now), expected])
        }
    }
}

@Suite("A worker found gone by a failed send")
struct BrokerCoreUnreachableTests {
    @Test("a failed dispatch requeues its request without counting an attempt; a failed heartbeat loses it")
    func dispatchVersusHeartbeat() {
        for dispatchFailed in [true, false] {
            var broker = CoreHarness()
            broker.readyHeartbeating("w1")
            broker.request(from: "c1", "hello")
            broker.sent.removeAll()
            var out: [BrokerAction] = []
            let undelivered = dispatchFailed ? broker.held("w1").map(\.id) : []
            #expect(undelivered.count == (dispatchFailed ? 1 : 0))
            broker.core.workerUnreachable(bytes("w1"), undelivered: undelivered, now: broker.now, into: &out)
            broker.sent += out
            let replies = broker.takeReplies()
            if dispatchFailed {
                #expect(replies.isEmpty)
                #expect(broker.core.stats.queueDepth == 1, "the request never left: it waits for another worker")
            } else {
                #expect(replies.map(\.body) == [["BATON-ERR", "worker-died",
                                                 "the worker serving the request was lost: unreachable"]])
                #expect(broker.core.stats.queueDepth == 0)
            }
        }
    }
}
