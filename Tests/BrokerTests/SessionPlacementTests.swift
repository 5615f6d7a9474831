import BatonProtocol
import Testing
@testable import Broker

/// Where a session's first request goes when every worker has capacity 1 (plain LRU dispatch otherwise).
@Suite("Session placement over capacity-1 workers")
struct SessionPlacementTests {
    /// Two capacity-1 DEALER workers, w1 and w2, both idle.
    func twoIdleWorkers() -> CoreHarness {
        var broker = CoreHarness { $0.heartbeatInterval = .seconds(1_000) }
        broker.readyDealer("w1", capacity: 1)
        broker.readyDealer("w2", capacity: 1)
        return broker
    }

    @Test("sessions opened one at a time over two equal idle workers alternate: 100 sessions, 50 on each")
    func equalIdleWorkersAlternate() throws {
        var broker = twoIdleWorkers()
        var placed: [String: Int] = [:]
        for n in 0..<100 {
            broker.sessionRequest(from: "c", key: "k\(n)", "1")
            let dispatch = try #require(broker.takeSessionDispatches().first)
            placed[dispatch.worker, default: 0] += 1
            broker.reply(dispatch.worker, token: dispatch.token, "1")
        }
        #expect(placed == ["w1": 50, "w2": 50])
        #expect(broker.core.sessions.count(on: bytes("w1")) == 50 && broker.core.sessions.count(on: bytes("w2")) == 50)
    }

    /// The DEALER worker answers the one request it holds.
    func answer(_ worker: String, in broker: inout CoreHarness) throws {
        let request = try #require(broker.held(worker).first)
        broker.reply(worker, token: request.id.token, "ok")
    }

    @Test("an idle worker holding fewer sessions gets the new session, though the other has waited longer")
    func fewerSessionsBeatsLRU() throws {
        var broker = twoIdleWorkers()
        broker.sessionRequest(from: "c", key: "a", "1")
        broker.request(from: "c", "stateless-1")
        try answer("w1", in: &broker)
        broker.sessionRequest(from: "c", key: "b", "1")
        try answer("w2", in: &broker)
        try answer("w1", in: &broker)
        broker.request(from: "c", "stateless-2")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w1", "w2", "w1", "w2"])
        try answer("w2", in: &broker)
        // Both idle; w1 holds two sessions and has waited longest, w2 holds none and was used last.
        broker.sessionRequest(from: "c", key: "c", "1")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w2"])
    }

    @Test("first requests queued while both workers are busy go to each worker as it frees: 50 on each")
    func queuedOpenersFollowFreeSlots() throws {
        var broker = twoIdleWorkers()
        broker.request(from: "c", "busy-1")
        broker.request(from: "c", "busy-2")
        for n in 0..<100 { broker.sessionRequest(from: "c", key: "k\(n)", "1") }
        #expect(broker.core.stats.queueDepth == 100)
        #expect(broker.takeDispatches().map(\.worker) == ["w1", "w2"])
        var placed: [String: Int] = [:]
        for round in 0..<100 {
            let worker = round % 2 == 0 ? "w1" : "w2"
            try answer(worker, in: &broker)
            let dispatch = try #require(broker.takeSessionDispatches().first)
            #expect(dispatch.worker == worker, "the opener goes to the worker that just freed")
            placed[dispatch.worker, default: 0] += 1
        }
        #expect(placed == ["w1": 50, "w2": 50])
    }
}
