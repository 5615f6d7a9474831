import BatonProtocol
import Testing
@testable import Broker

/// Session helpers on top of ``CoreHarness``: DEALER workers with capacity and handoff, session requests,
/// and the frames sent to workers.
extension CoreHarness {
    /// A DEALER worker says READY with a capacity, and `handoff` if asked.
    mutating func readyDealer(_ worker: String, capacity: Int = 4, handoff: Bool = true) {
        workerMessage([bytes(worker), [0x01], bytes("\(capacity)")] + (handoff ? [bytes("handoff")] : []))
    }

    /// A client sends `["BATON-SESSION"][key][body]`.
    mutating func sessionRequest(from client: String, key: String, _ body: String) {
        clientMessage([bytes(client), [], WireProtocol.sessionMarker, bytes(key), bytes(body)])
    }

    /// Dispatches sent so far as (worker, token, key or "", last body frame), and forgets them.
    mutating func takeSessionDispatches() -> [(worker: String, token: [UInt8], key: String, body: String)] {
        defer { sent.removeAll { if case .dispatch = $0 { true } else { false } } }
        return sent.compactMap {
            guard case .dispatch(let worker, _, let token, let body) = $0 else { return nil }
            let frames = Array(body)
            let key = frames.first == WireProtocol.sessionMarker && frames.count >= 3 ? text(frames[1]) : ""
            return (text(worker), token, key, text(frames.last ?? []))
        }
    }

    /// Commands (END, EXPORT, IMPORT) sent to workers so far, as (worker, frames as text), and forgets them.
    mutating func takeCommands() -> [(worker: String, frames: [String])] {
        defer { sent.removeAll { if case .send = $0 { true } else { false } } }
        return sent.compactMap {
            guard case .send(let worker, let frames) = $0 else { return nil }
            return (text(worker), frames.map { $0.count == 1 && $0[0] < 0x10 ? "0x0\($0[0])" : text($0) })
        }
    }

    /// The DEALER worker answers a request by token.
    mutating func reply(_ worker: String, token: [UInt8], _ body: String) {
        workerMessage([bytes(worker), token, [], bytes(body)])
    }

    /// Worker events so far.
    func workerEvents() -> [WorkerEvent] {
        sent.compactMap { if case .worker(let event) = $0 { event } else { nil } }
    }

    /// Error codes of the replies so far (nil for worker replies), in order, and forgets the replies.
    mutating func takeReplyCodes() -> [String?] {
        takeReplies().map { $0.body.first == "BATON-ERR" ? $0.body[1] : nil }
    }

    mutating func drain(_ worker: String, successor: String?) {
        var out: [BrokerAction] = []
        core.drainWorker(bytes(worker), successor: successor.map(bytes), now: now, into: &out)
        sent += out
    }

}

@Suite("Sessions in the broker's state machine")
struct SessionCoreTests {
    @Test("every request of a key goes to the worker that served its first, even when others are idler")
    func stickiness() throws {
        var broker = CoreHarness()
        for worker in ["w1", "w2", "w3"] { broker.readyDealer(worker) }
        broker.sessionRequest(from: "c", key: "room-1", "1")
        let first = try #require(broker.takeSessionDispatches().first)
        broker.reply(first.worker, token: first.token, "ok")
        for round in 2...6 {
            broker.sessionRequest(from: "c", key: "room-1", "\(round)")
            let next = try #require(broker.takeSessionDispatches().first)
            #expect(next.worker == first.worker && next.key == "room-1" && next.body == "\(round)")
            broker.reply(next.worker, token: next.token, "ok")
        }
        #expect(broker.core.sessions.count(on: bytes(first.worker)) == 1)
    }

    @Test("requests of one key go one at a time, in the order read; other keys run beside them")
    func perKeyOrder() throws {
        var broker = CoreHarness()
        broker.readyDealer("w1", capacity: 8)
        for n in 1...3 { broker.sessionRequest(from: "c", key: "a", "a\(n)") }
        broker.sessionRequest(from: "c", key: "b", "b1")
        var dispatches = broker.takeSessionDispatches()
        #expect(dispatches.map(\.body) == ["a1", "b1"], "a2 and a3 wait behind a1")
        for expected in ["a2", "a3"] {
            let a = try #require(dispatches.first { $0.key == "a" })
            broker.reply("w1", token: a.token, "done")
            dispatches = broker.takeSessionDispatches()
            #expect(dispatches.map(\.body) == [expected])
        }
        #expect(broker.takeReplyCodes() == [nil, nil])
    }

    @Test("a new session opens on the least loaded worker")
    func leastLoadedPlacement() throws {
        var broker = CoreHarness()
        broker.readyDealer("busy", capacity: 4)
        for n in 1...3 { broker.request(from: "c", "stateless-\(n)") }
        #expect(Set(broker.takeSessionDispatches().map(\.worker)) == ["busy"])
        broker.readyDealer("fresh", capacity: 4)
        broker.sessionRequest(from: "c", key: "room", "hello")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["fresh"])
    }

    @Test("an idle session ends after the idle timeout: its worker is told END and the next request opens anew")
    func idleExpiry() throws {
        var broker = CoreHarness {
            $0.sessionIdleTimeout = .seconds(10)
            $0.heartbeatInterval = .seconds(100)
            $0.recordHistory = true
        }
        broker.readyDealer("w1")
        broker.sessionRequest(from: "c", key: "k", "1")
        let first = try #require(broker.takeSessionDispatches().first)
        broker.reply("w1", token: first.token, "ok")
        broker.advance(milliseconds: 9_000)
        #expect(broker.takeCommands().isEmpty, "not idle long enough yet")
        broker.advance(milliseconds: 2_000)
        #expect(broker.takeCommands().map(\.frames) == [["0x04", "k"]])
        #expect(broker.records.contains(.sessionEnded(key: bytes("k"), worker: bytes("w1"), reason: .idle,
                                                        requests: 1, at: broker.now)))
        #expect(broker.core.sessions.isEmpty)
    }

    @Test("when a worker dies, only its sessions see session-lost, once; the request after that opens a new session")
    func workerDeath() throws {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.readyDealer("w1")
        broker.sessionRequest(from: "c", key: "idle", "1")
        let idle = try #require(broker.takeSessionDispatches().first)
        broker.now += .milliseconds(5)
        broker.reply("w1", token: idle.token, "1")
        broker.sessionRequest(from: "c", key: "busy", "1")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w1"])
        broker.readyDealer("w2")
        broker.sessionRequest(from: "c", key: "other", "1")
        let other = try #require(broker.takeSessionDispatches().first)
        #expect(other.worker == "w2", "w1 is busier")
        broker.reply("w2", token: other.token, "1")
        #expect(broker.takeReplyCodes() == [nil, nil])

        broker.processEnded("w1")
        #expect(broker.takeReplyCodes() == ["session-lost"], "the request in flight at w1")
        broker.sessionRequest(from: "c", key: "idle", "2")
        #expect(broker.takeReplyCodes() == ["session-lost"], "the idle session's next request")
        #expect(broker.takeSessionDispatches().isEmpty)
        for key in ["idle", "busy", "other"] {
            broker.sessionRequest(from: "c", key: key, "again")
            let dispatch = try #require(broker.takeSessionDispatches().first)
            #expect(dispatch.worker == "w2")
            broker.reply("w2", token: dispatch.token, "ok")
        }
        #expect(broker.takeReplyCodes() == [nil, nil, nil], "new sessions, and the other key was never touched")
        let ends = broker.records.filter { if case .sessionEnded(_, _, .lost, _, _) = $0 { true } else { false } }
        #expect(ends.count == 2)
    }

    @Test("requests held behind a lost session's request in flight are answered session-lost with it")
    func heldRequestsOfALostSession() throws {
        var broker = CoreHarness()
        broker.readyDealer("w1")
        for n in 1...3 { broker.sessionRequest(from: "c", key: "k", "\(n)") }
        #expect(broker.takeSessionDispatches().count == 1)
        broker.processEnded("w1")
        #expect(broker.takeReplyCodes() == ["session-lost", "session-lost", "session-lost"])
        #expect(broker.core.sessions.isEmpty && broker.core.stats.queueDepth == 0)
    }

    @Test("a session request is never retried on another worker, even under --retry-on-crash")
    func noRetryForSessions() throws {
        var broker = CoreHarness { $0.retryOnCrash = 3 }
        broker.readyDealer("w1")
        broker.readyDealer("w2")
        broker.sessionRequest(from: "c", key: "k", "1")
        broker.request(from: "c", "stateless")
        let dispatches = broker.takeSessionDispatches()
        let session = try #require(dispatches.first { $0.key == "k" })
        let victim = session.worker
        let survivor = victim == "w1" ? "w2" : "w1"
        broker.processEnded(victim)
        #expect(broker.takeReplyCodes().contains("session-lost"))
        #expect(broker.takeSessionDispatches().allSatisfy { $0.key.isEmpty && $0.worker == survivor })
    }

    @Test("a key that is empty or longer than 255 bytes, or without a body, is answered bad-session")
    func badSessions() {
        var broker = CoreHarness()
        broker.readyDealer("w1")
        broker.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, [], bytes("body")])
        broker.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, Array(repeating: 65, count: 256), bytes("b")])
        broker.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, bytes("key")])
        #expect(broker.takeReplyCodes() == ["bad-session", "bad-session", "bad-session"])
        broker.clientMessage([bytes("c"), [], WireProtocol.sessionMarker, Array(repeating: 65, count: 255), bytes("b")])
        #expect(broker.takeSessionDispatches().count == 1, "255 bytes is a valid key")
        #expect(broker.core.stats.badSessionRequests == 3)
    }

    @Test("at --max-sessions a request that would open one more is answered too-many-sessions")
    func sessionBound() {
        var broker = CoreHarness { $0.maxSessions = 2 }
        broker.readyDealer("w1", capacity: 8)
        for key in ["a", "b", "c"] { broker.sessionRequest(from: "c", key: key, "1") }
        #expect(broker.takeReplyCodes() == ["too-many-sessions"])
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeReplyCodes().isEmpty, "an open session still takes requests")
        #expect(broker.core.stats.sessionsRefused == 1)
    }

    @Test("a worker's END closes the session after its request in flight; the next request opens a new one")
    func workerEndsSession() throws {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.readyDealer("w1")
        broker.sessionRequest(from: "c", key: "match", "1")
        let first = try #require(broker.takeSessionDispatches().first)
        broker.sessionRequest(from: "c", key: "match", "2")
        broker.workerMessage([bytes("w1"), WireProtocol.endByte, bytes("match")])
        broker.reply("w1", token: first.token, "game over")
        let second = try #require(broker.takeSessionDispatches().first)
        #expect(second.body == "2" && second.worker == "w1")
        #expect(broker.records.contains { if case .sessionEnded(_, _, .ended, 1, _) = $0 { true } else { false } })
        #expect(broker.records.filter { if case .sessionOpened = $0 { true } else { false } }.count == 2,
                "request 2 opened a new session")
        #expect(broker.takeCommands().isEmpty, "no END goes back to a worker that ended the session itself")
    }

    @Test("held session requests count against the queue bound and expire with the queue timeout")
    func heldRequestsAreBounded() {
        var broker = CoreHarness { $0.maxQueued = 3; $0.queueTimeout = .seconds(2) }
        broker.readyDealer("w1")
        for n in 1...4 { broker.sessionRequest(from: "c", key: "k", "\(n)") }
        #expect(broker.core.stats.queueDepth == 3 && !broker.core.acceptsRequests)
        broker.advance(milliseconds: 3_000)
        #expect(broker.takeReplyCodes() == ["expired", "expired", "expired"])
        #expect(broker.core.acceptsRequests)
    }

    @Test("shutdown answers held session requests shutting-down and records every open session as ended")
    func shutdownEndsSessions() {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.readyDealer("w1")
        broker.sessionRequest(from: "c", key: "a", "1")
        broker.sessionRequest(from: "c", key: "a", "2")
        var out: [BrokerAction] = []
        broker.core.beginShutdown(now: broker.now, into: &out)
        broker.sent += out
        #expect(broker.takeReplyCodes() == ["shutting-down"])
        #expect(broker.records.contains { if case .sessionEnded(_, _, .shutdown, _, _) = $0 { true } else { false } })
        #expect(broker.core.sessions.isEmpty)
    }

    @Test("during a rolling update new sessions open on the generation being rolled out, in LRU and capacity pools")
    func newSessionsPreferTheNewGeneration() throws {
        for capacity in [1, 4] {
            var broker = CoreHarness()
            broker.core.workerProcessStarted(bytes("old"), generation: 1)
            broker.core.workerProcessStarted(bytes("new"), generation: 2)
            broker.readyDealer("old", capacity: capacity)
            broker.readyDealer("new", capacity: capacity)
            broker.core.preferSessions(onGeneration: 2)
            broker.sessionRequest(from: "c", key: "room", "1")
            #expect(broker.takeSessionDispatches().map(\.worker) == ["new"], "capacity \(capacity)")
            broker.request(from: "c", "stateless")
            #expect(broker.takeSessionDispatches().map(\.worker) == ["old"], "stateless requests go anywhere")
            broker.core.preferSessions(onGeneration: nil)
            broker.sessionRequest(from: "c", key: "lobby", "1")
            #expect(broker.takeSessionDispatches().count == (capacity == 1 ? 0 : 1), "both capacity-1 workers are busy")
        }
    }

    @Test("new sessions spread over workers by the sessions they hold, even when the LRU worker has more")
    func placementBySessions() throws {
        var broker = CoreHarness()
        broker.readyDealer("w1", capacity: 4)
        broker.readyDealer("w2", capacity: 4)
        var homes: [String: String] = [:]
        for key in ["a", "b", "c", "d"] {
            broker.sessionRequest(from: "c", key: key, "1")
            let dispatch = try #require(broker.takeSessionDispatches().first)
            homes[key] = dispatch.worker
            broker.reply(dispatch.worker, token: dispatch.token, "1")
        }
        #expect(homes.values.filter { $0 == "w1" }.count == 2 && homes.values.filter { $0 == "w2" }.count == 2,
                "\(homes)")
    }
}

@Suite("Sessions waiting for a full worker")
struct SessionWaitTests {
    @Test("a session waits in its full worker's list once, however many of its requests pile up")
    func waitListIsBounded() throws {
        var broker = CoreHarness { $0.heartbeatInterval = .seconds(1_000) }
        broker.readyDealer("w1", capacity: 2)
        broker.sessionRequest(from: "c", key: "a", "1")
        broker.sessionRequest(from: "c", key: "b", "1")
        let first = broker.takeSessionDispatches()
        #expect(first.count == 2)
        broker.sessionRequest(from: "c", key: "c", "1")  // opens on w1 once a slot frees
        let a = try #require(first.first { $0.key == "a" })
        broker.reply("w1", token: a.token, "1")
        let third = broker.takeSessionDispatches()
        #expect(third.map(\.key) == ["c"])
        for n in 2...50 { broker.sessionRequest(from: "c", key: "a", "\(n)") }
        #expect(broker.core.sessions.waitingCount == 1, "a is listed once while w1 is full")
        let b = try #require(first.first { $0.key == "b" })
        broker.reply("w1", token: b.token, "1")
        #expect(broker.takeSessionDispatches().map(\.body) == ["2"], "the freed slot goes to the waiting session")
        #expect(broker.core.sessions.waitingCount == 0)
    }
}
