import BatonProtocol
import Testing

@testable import Broker

/// RETURN (`[0x07][token]…`): a leaving worker gives back the requests it did not start.
@Suite("RETURN: a leaving worker gives back the requests it did not start")
struct BrokerReturnTests {
    /// RETURN from `worker` for the requests it holds with these bodies.
    private static func returnMessage(_ broker: CoreHarness, _ worker: String, _ bodies: [String]) -> [[UInt8]] {
        let tokens = bodies.compactMap { body in
            broker.held(worker).first { $0.body.map(text).joined() == body }.map { $0.id.token }
        }
        #expect(tokens.count == bodies.count, "\(worker) holds every request it returns")
        return [bytes(worker), WireProtocol.returnByte] + tokens
    }

    private static func acknowledgements(_ broker: CoreHarness, to worker: String) -> Int {
        broker.sent.filter {
            if case .send(let to, let frames) = $0 { to == bytes(worker) && frames == [WireProtocol.returnByte] } else { false }
        }.count
    }

    @Test("returned requests go to another worker without counting an attempt, are recorded requeued, and the leaving worker gets nothing new")
    func returnedRequestsAreServedElsewhere() {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.ready("A", capacity: 4)
        broker.requests(1...4)
        #expect(broker.takeDispatches().map(\.worker) == ["A", "A", "A", "A"])
        broker.ready("B", capacity: 4)
        broker.workerMessage(Self.returnMessage(broker, "A", ["r3", "r4"]))
        // Back at the front of the queue, oldest first, and sent on at once to the other worker.
        #expect(broker.takeDispatches().map { "\($0.worker):\($0.body)" } == ["B:r3", "B:r4"])
        #expect(Self.acknowledgements(broker, to: "A") == 1)
        #expect(broker.core.stats.requestsReturned == 2 && broker.core.stats.retried == 0)
        let requeued = broker.records.compactMap { if case .requestRequeued(let id, _) = $0 { id } else { nil } }
        #expect(requeued.count == 2)
        // A second attempt would say attempt 2: a returned request was never started, so its attempt is not counted.
        let attempts = broker.records.compactMap { event -> Int? in
            if case .requestDispatched(let id, let worker, let attempt, _) = event, requeued.contains(id),
               worker == bytes("B") { attempt } else { nil }
        }
        #expect(attempts == [1, 1])
        // The leaving worker gets no new request, even with free capacity.
        broker.request(from: "c", "r5")
        #expect(broker.takeDispatches().map(\.worker) == ["B"])
        broker.answer("A", body: "r1")
        broker.answer("A", body: "r2")
        #expect(broker.takeReplyBodies() == ["r1", "r2"])
        #expect(broker.inFlight("A") == 0)
        broker.workerMessage([bytes("A"), WireProtocol.disconnectByte])
        #expect(broker.core.stats.workerDied == 0 && broker.core.stats.errorReplies == 0)
    }

    @Test("a returned request keeps its retry budget: lost on its next worker, it is still retried under retry-on-crash 1")
    func returnedRequestsKeepTheirFirstAttempt() {
        var broker = CoreHarness { $0.retryOnCrash = 1 }
        broker.ready("A", capacity: 2)
        broker.requests(1...2)
        _ = broker.takeDispatches()
        broker.ready("B", capacity: 2)
        broker.workerMessage(Self.returnMessage(broker, "A", ["r2"]))
        #expect(broker.takeDispatches().map(\.worker) == ["B"])
        // Lost on B: its one retry is still left (the return did not use it), so it goes on to C.
        broker.ready("C", capacity: 2)
        broker.workerMessage([bytes("B"), WireProtocol.disconnectByte])
        #expect(broker.takeDispatches().map { "\($0.worker):\($0.body)" } == ["C:r2"])
        #expect(broker.core.stats.workerDied == 0)
    }

    @Test("RETURN without a token drains the worker; a token it does not hold is counted stale; from a stranger it is ignored")
    func emptyStaleAndUnknown() {
        var broker = CoreHarness()
        broker.ready("A", capacity: 2)
        broker.workerMessage([bytes("A"), WireProtocol.returnByte])
        #expect(Self.acknowledgements(broker, to: "A") == 1)
        #expect(broker.drained == ["A"])
        broker.request(from: "c", "r1")
        #expect(broker.takeDispatches().isEmpty, "a leaving worker gets no new request")
        broker.workerMessage([bytes("A"), WireProtocol.returnByte, WireProtocol.token(for: 12345), [1, 2]])
        #expect(broker.core.stats.staleReplies == 2 && broker.core.stats.requestsReturned == 0)
        #expect(broker.sent.contains { if case .log(.staleReply(bytes("A"))) = $0 { true } else { false } })
        broker.workerMessage([bytes("stranger"), WireProtocol.returnByte])
        #expect(Self.acknowledgements(broker, to: "stranger") == 0)
        #expect(broker.core.stats.malformedWorkerMessages == 0)
        // In REQ framing it is not a RETURN: malformed.
        broker.ready("R")
        broker.workerMessage([bytes("R"), [], WireProtocol.returnByte])
        #expect(broker.core.stats.malformedWorkerMessages == 1)
    }

    @Test("a returned session request is answered session-lost: the session's state is on the leaving worker")
    func returnedSessionRequest() {
        var broker = CoreHarness()
        broker.ready("A", capacity: 2)
        broker.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, bytes("room"), bytes("hello")])
        #expect(broker.takeDispatches().map(\.worker) == ["A"])
        let request = broker.held("A")[0]
        broker.ready("B", capacity: 2)
        broker.workerMessage([bytes("A"), WireProtocol.returnByte, request.id.token])
        #expect(broker.takeReplies().map { Array($0.body.prefix(2)) } == [["BATON-ERR", "session-lost"]])
        #expect(broker.takeDispatches().isEmpty)
        #expect(broker.core.stats.requestsReturned == 1)
    }
}
