import BatonProtocol
import Testing
@testable import Broker

/// Attacks on sessions and handoff (docs/protocol.md, "Sessions" and 2.5): each test drives the pure core into
/// a corner a hostile client, a hostile or buggy worker or a fault can reach, and checks a documented promise.
@Suite("Sessions under attack in the broker's state machine")
struct SessionAdversaryTests {
    @Test("a request for a session whose drain timed out with a request in flight is answered, as are those held before it")
    func requestAfterDrainTimeoutWithHeldRequests() throws {
        var broker = CoreHarness {
            $0.heartbeatInterval = .seconds(1_000)
            $0.sessionDrainTimeout = .seconds(2)
        }
        broker.readyDealer("w1", handoff: false)
        broker.sessionRequest(from: "c", key: "b", "1")
        let first = try #require(broker.takeSessionDispatches().first)
        broker.sessionRequest(from: "c", key: "b", "2")
        broker.readyDealer("s1")
        broker.drain("w1", successor: "s1")
        broker.advance(milliseconds: 3_000)
        broker.sessionRequest(from: "c", key: "b", "3")
        #expect(broker.takeReplyCodes() == ["session-lost", "session-lost"], "the held request, then the new one")
        broker.reply("w1", token: first.token, "1")
        #expect(broker.takeReplyCodes() == [nil], "the request in flight gets its worker's reply")
        #expect(broker.core.stats.queueDepth == 0 && broker.core.sessions.heldCount == 0)
        broker.sessionRequest(from: "c", key: "b", "4")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["s1"], "the next request opens a new session")
    }

    /// w1 (capacity 1, DEALER on connection 7, managed) holds sessions "a" and "b"; a's "2" is in flight and
    /// b's "2" waits for w1's slot.
    func sessionWaitingBehindAnotherSession(framing: WorkerFraming) throws -> CoreHarness {
        var broker = CoreHarness { $0.heartbeatInterval = .seconds(1_000) }
        broker.core.workerProcessStarted(bytes("w1"))
        let ready: [[UInt8]] = framing == .dealer ? [bytes("w1"), [0x01], bytes("1")] : [bytes("w1"), [], bytes("READY")]
        broker.workerMessage(ready, connection: 7)
        for key in ["a", "b"] {
            broker.sessionRequest(from: "c", key: key, "1")
            let dispatch = try #require(broker.takeSessionDispatches().first)
            let prefix: [[UInt8]] = framing == .dealer ? [bytes("w1")] : [bytes("w1"), []]
            broker.workerMessage(prefix + [dispatch.token, [], bytes("1")], connection: 7)
        }
        broker.sessionRequest(from: "c", key: "a", "2")
        broker.sessionRequest(from: "c", key: "b", "2")
        #expect(broker.takeSessionDispatches().map(\.key) == ["a"])
        _ = broker.takeReplies()
        return broker
    }

    @Test("a session waiting for its worker's slot is served when the slot frees because a reply was lost")
    func waitingSessionAfterLostReply() throws {
        var broker = try sessionWaitingBehindAnotherSession(framing: .dealer)
        broker.connectionClosed(7)
        broker.advance(milliseconds: 600)
        #expect(broker.takeReplyCodes() == ["bad-reply"])
        #expect(broker.takeSessionDispatches().map(\.key) == ["b"], "b's request goes to the idle worker at once")
    }

    @Test("a session waiting for a REQ worker's slot is served when that worker's malformed answer frees it")
    func waitingSessionAfterMalformedAnswer() throws {
        var broker = try sessionWaitingBehindAnotherSession(framing: .request)
        broker.workerMessage([bytes("w1"), [], bytes("junk")], connection: 7)
        #expect(broker.takeReplyCodes() == ["bad-reply"])
        #expect(broker.takeSessionDispatches().map(\.key) == ["b"], "b's request goes to the idle worker at once")
    }

    @Test("a session that was waiting for its full old worker's slot when it moved is served by its successor's")
    func sessionMovedWhileWaitingForASlot() throws {
        var broker = CoreHarness { $0.heartbeatInterval = .seconds(1_000) }
        broker.readyDealer("w1", capacity: 1)
        broker.sessionRequest(from: "c", key: "a", "1")
        let a = try #require(broker.takeSessionDispatches().first)
        broker.reply("w1", token: a.token, "1")
        broker.request(from: "c", "x")
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeSessionDispatches().map(\.body) == ["x"], "a's 2 waits for w1's slot")
        broker.readyDealer("s1", capacity: 1)
        broker.drain("w1", successor: "s1")
        broker.request(from: "c", "y")
        let y = try #require(broker.takeSessionDispatches().first)
        #expect(y.worker == "s1")
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("state")])
        broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes("a"), bytes("ok")])
        #expect(broker.takeSessionDispatches().isEmpty, "s1 is full")
        broker.reply("s1", token: y.token, "y")
        #expect(broker.takeSessionDispatches().map { [$0.worker, $0.body] } == [["s1", "2"]],
                "s1's freed slot goes to a, which now waits there")
    }

    @Test("a client that opens 100,000 sessions with binary keys meets --max-sessions, and idle expiry frees them all")
    func hundredThousandKeys() throws {
        var core = BrokerCore()
        var out: [BrokerAction] = []
        var now = Instant.zero + .seconds(1)
        core.workerMessage([bytes("w1"), [0x01], bytes("1000")], now: now, into: &out)
        let limit = core.configuration.maxSessions
        var refused = 0
        var ends = 0
        for index in 0...limit {
            let key = withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) } + [0x00, 0xFF]
            out.removeAll(keepingCapacity: true)
            core.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, key, [1]], now: now, into: &out)
            for action in out {
                if case .dispatch(_, _, let token, _) = action {
                    core.workerMessage([bytes("w1"), token, [], [2]], now: now, into: &out)
                } else if case .reply(_, let body, _) = action, body.dropFirst().first == bytes("too-many-sessions") {
                    refused += 1
                }
            }
            now += .microseconds(1)
        }
        #expect(refused == 1 && core.stats.sessionsRefused == 1)
        #expect(core.stats.sessionsOpen == limit && core.sessions.count(on: bytes("w1")) == limit)
        #expect(core.stats.queueDepth == 0 && core.stats.inFlight == 0 && core.sessions.waitingCount == 0)
        now += .seconds(601)
        core.workerMessage([bytes("w1"), [0x02]], now: now, into: &out)
        out.removeAll()
        core.tick(now: now, into: &out)
        for case .send(_, let frames) in out where frames.first == WireProtocol.endByte { ends += 1 }
        #expect(ends == limit, "each idle session's worker is told END")
        #expect(core.sessions.isEmpty && core.stats.sessionsOpen == 0)
    }

    @Test("a draining worker that says READY again while holding sessions is reported drained")
    func drainingWorkerRestartsWithSessions() throws {
        var broker = CoreHarness { $0.heartbeatInterval = .seconds(1_000) }
        broker.readyDealer("w1", handoff: false)
        broker.sessionRequest(from: "c", key: "a", "1")
        let a = try #require(broker.takeSessionDispatches().first)
        broker.reply("w1", token: a.token, "1")
        _ = broker.takeReplies()
        broker.drain("w1", successor: nil)
        #expect(broker.drained.isEmpty, "a is still on w1")
        broker.readyDealer("w1", handoff: false)
        #expect(broker.drained == ["w1"], "it holds no request and no session now")
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeReplyCodes() == ["session-lost"])
    }
}

/// One walk at a time, yielding as it goes: it is pure computation, and the test runner's two threads also
/// serve the suite's tests that wait on real processes and sockets.
@Suite("A random walk over sessions, handoffs and faults", .serialized)
struct SessionRandomWalkTests {
    @Test("every promise holds after every event, over seeded walks", .timeLimit(.minutes(2)),
          arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func walk(seed: UInt64) async {
        var rng = SplitMix(state: seed)
        var walk = SessionWalk()
        walk.faultPercent = [2, 10, 30][Int(seed % 3)]
        let steps = 4_000
        let shutdownAt = seed % 2 == 0 ? steps * 9 / 10 : nil
        for step in 0..<steps where walk.violations.isEmpty {
            if step == shutdownAt { walk.shutDown() }
            walk.step(&rng)
            if step % 50 == 0 { await Task.yield() }
        }
        if walk.violations.isEmpty { walk.finish(&rng) }
        #expect(walk.violations.isEmpty, "seed \(seed): \(walk.violations.joined(separator: "\n"))")
        #expect(walk.events > steps, "the walk ran")
        #expect(walk.core.stats.sessionsOpened > 50, "seed \(seed): sessions were opened")
        if walk.faultPercent == 2 { #expect(walk.core.stats.sessionsMoved > 0, "seed \(seed): sessions moved") }
    }
}
