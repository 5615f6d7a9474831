import BatonProtocol
import Testing
@testable import Broker

/// What sessions count against and what the session counters say: lost sessions, idle ends, drain timeouts.
@Suite("Session accounting in the broker's state machine")
struct SessionAccountingTests {
    /// A broker whose heartbeats never fall due (the tests move its clock by seconds), with `w1` of capacity 8.
    func broker(_ configure: (inout BrokerConfiguration) -> Void = { _ in }) -> CoreHarness {
        var broker = CoreHarness {
            $0.heartbeatInterval = .seconds(1_000)
            configure(&$0)
        }
        broker.readyDealer("w1", capacity: 8)
        return broker
    }

    /// Opens `keys` sessions on `worker` and answers each one's first request.
    func open(_ keys: [String], on worker: String, in broker: inout CoreHarness) throws {
        for key in keys {
            broker.sessionRequest(from: "c", key: key, "1")
            let dispatch = try #require(broker.takeSessionDispatches().first)
            #expect(dispatch.worker == worker)
            broker.reply(worker, token: dispatch.token, "1")
        }
        _ = broker.takeReplyCodes()
    }

    @Test("sessions lost with their worker no longer count as open or against --max-sessions; each still learns it once")
    func lostSessionsFreeTheBound() throws {
        var broker = broker { $0.maxSessions = 3 }
        try open(["a", "b", "c"], on: "w1", in: &broker)
        broker.processEnded("w1")
        #expect(broker.core.stats.sessionsOpen == 0, "no worker holds them")
        #expect(broker.core.stats.lostSessionKeys == 3)
        broker.readyDealer("w2", capacity: 8)
        try open(["d", "e", "f"], on: "w2", in: &broker)
        #expect(broker.core.stats.sessionsRefused == 0, "three new sessions fit beside three lost ones")
        #expect(broker.core.stats.sessionsOpen == 3)
        for key in ["a", "b", "c"] { broker.sessionRequest(from: "c", key: key, "2") }
        #expect(broker.takeReplyCodes() == ["session-lost", "session-lost", "session-lost"], "each lost key learns it once")
        #expect(broker.core.stats.lostSessionKeys == 0)
    }

    @Test("at most --max-sessions lost sessions are kept: the oldest are forgotten first, and counted")
    func lostSessionsAreBounded() throws {
        var broker = broker { $0.maxSessions = 2 }
        try open(["a", "b"], on: "w1", in: &broker)
        broker.processEnded("w1")
        broker.readyDealer("w2", capacity: 8)
        try open(["c", "d"], on: "w2", in: &broker)
        broker.processEnded("w2")
        #expect(broker.core.stats.lostSessionKeys == 2)
        #expect(broker.core.stats.lostSessionsForgotten == 2)
        broker.readyDealer("w3", capacity: 8)
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeReplyCodes().isEmpty, "a forgotten key opens a new session")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w3"])
        broker.sessionRequest(from: "c", key: "c", "2")
        #expect(broker.takeReplyCodes() == ["session-lost"], "a kept key learns of its loss")
    }

    @Test("a lost session is kept for the idle timeout counted from its loss, then forgotten")
    func lostSessionsExpire() throws {
        var broker = broker { $0.sessionIdleTimeout = .seconds(10) }
        try open(["a"], on: "w1", in: &broker)
        broker.advance(milliseconds: 9_000)
        broker.processEnded("w1")
        broker.advance(milliseconds: 5_000)
        #expect(broker.core.stats.lostSessionKeys == 1, "kept: lost 5 s ago")
        broker.advance(milliseconds: 6_000)
        #expect(broker.core.stats.lostSessionKeys == 0 && broker.core.sessions.isEmpty)
    }

    @Test("sessionsEnded counts idle expiries, worker ENDs, losses and drain timeouts")
    func sessionsEndedCounts() throws {
        var broker = broker { $0.sessionIdleTimeout = .seconds(10) }
        try open((0..<100).map { "idle-\($0)" }, on: "w1", in: &broker)
        broker.advance(milliseconds: 12_000)
        #expect(broker.core.stats.sessionsOpen == 0)
        #expect(broker.core.stats.sessionsEnded == 100)
        try open(["ended"], on: "w1", in: &broker)
        broker.workerMessage([bytes("w1"), WireProtocol.endByte, bytes("ended")])
        #expect(broker.core.stats.sessionsEnded == 101)
        try open(["lost"], on: "w1", in: &broker)
        broker.processEnded("w1")
        #expect(broker.core.stats.sessionsEnded == 102)
    }

    @Test("sessions still on a worker being replaced when the reload stops it count as drain-timed-out")
    func drainAllowanceRanOut() throws {
        var broker = CoreHarness {
            $0.recordHistory = true
            $0.heartbeatInterval = .seconds(1_000)
        }
        broker.readyDealer("w1", handoff: false)
        try open(["a", "b"], on: "w1", in: &broker)
        broker.readyDealer("s1", handoff: false)
        broker.drain("w1", successor: "s1")
        // The supervisor's drain allowance runs out before the session drain timeout: it stops the worker.
        broker.processEnded("w1")
        #expect(broker.core.stats.sessionsDrainTimedOut == 2)
        #expect(broker.core.stats.sessionsEnded == 2)
        let ends = broker.records.filter {
            if case .sessionEnded(_, _, .drainTimeout, _, _) = $0 { true } else { false }
        }
        #expect(ends.count == 2)
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeReplyCodes() == ["session-lost"])
        let lostEnds = broker.records.filter { if case .sessionEnded(_, _, .lost, _, _) = $0 { true } else { false } }
        #expect(lostEnds.isEmpty, "each end is recorded once")
    }
}

/// The seeded walk of `SessionAdversaryTests.swift` with a bound small enough to be met often: six keys
/// against `--max-sessions 2`, so requests are refused and lost sessions are forgotten at the bound.
@Suite("A random walk over sessions at a small --max-sessions", .serialized)
struct SessionBoundWalkTests {
    @Test("every promise holds after every event, with lost sessions kept within the bound",
          .timeLimit(.minutes(2)), arguments: [11, 12, 13, 14] as [UInt64])
    func walk(seed: UInt64) async {
        var rng = SplitMix(state: seed)
        var walk = SessionWalk { $0.maxSessions = 2 }
        walk.faultPercent = [10, 30][Int(seed % 2)]
        for step in 0..<4_000 where walk.violations.isEmpty {
            walk.step(&rng)
            if step % 50 == 0 { await Task.yield() }
        }
        if walk.violations.isEmpty { walk.finish(&rng) }
        #expect(walk.violations.isEmpty, "seed \(seed): \(walk.violations.joined(separator: "\n"))")
        #expect(walk.core.stats.sessionsRefused > 0, "seed \(seed): the bound was met")
        #expect(walk.core.stats.sessionsEnded > 0, "seed \(seed): sessions ended")
        #expect(walk.core.stats.lostSessionsForgotten > 0, "seed \(seed): lost sessions were forgotten at the bound")
    }
}
