import BatonProtocol
import Testing
@testable import Broker

@Suite("Session handoff in the broker's state machine")
struct SessionHandoffTests {
    /// w1 (old, with sessions "a" idle and "b" in flight) and s1 (its successor), both with handoff.
    func twoWorkers(handoff: Bool = true, _ configure: (inout BrokerConfiguration) -> Void = { _ in })
        throws -> (CoreHarness, bToken: [UInt8])
    {
        var broker = CoreHarness {
            $0.recordHistory = true
            $0.heartbeatInterval = .seconds(1_000)
            configure(&$0)
        }
        broker.readyDealer("w1", handoff: handoff)
        broker.sessionRequest(from: "c", key: "a", "1")
        let a = try #require(broker.takeSessionDispatches().first)
        broker.reply("w1", token: a.token, "1")
        broker.sessionRequest(from: "c", key: "b", "1")
        let b = try #require(broker.takeSessionDispatches().first)
        broker.readyDealer("s1", handoff: true)
        _ = broker.takeReplies()
        broker.sent.removeAll()
        return (broker, b.token)
    }

    @Test("sessions move: held, EXPORT, IMPORT, END to the old worker, held requests released to the successor")
    func successfulMove() throws {
        var (broker, bToken) = try twoWorkers()
        broker.drain("w1", successor: "s1")
        #expect(broker.takeCommands().map(\.frames) == [["0x05", "a"]], "b waits for its request in flight")
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeSessionDispatches().isEmpty, "a's requests are held while it moves")
        broker.now += .milliseconds(3)
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("state-a")])
        #expect(broker.takeCommands().map { [$0.worker] + $0.frames } == [["s1", "0x06", "a", "state-a"]])
        broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes("a"), bytes("ok")])
        #expect(broker.takeCommands().map { [$0.worker] + $0.frames } == [["w1", "0x04", "a"]])
        let released = broker.takeSessionDispatches()
        #expect(released.map(\.worker) == ["s1"] && released.map(\.body) == ["2"])
        #expect(broker.records.contains(.sessionMoved(key: bytes("a"), from: bytes("w1"), to: bytes("s1"),
                                                      pause: .milliseconds(3), at: broker.now)))
        #expect(!broker.workerEvents().contains(.drained(worker: bytes("w1"))), "b is still on w1")

        broker.reply("w1", token: bToken, "1")
        #expect(broker.takeCommands().map(\.frames) == [["0x05", "b"]])
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("b"), bytes("ok"), []])
        broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes("b"), bytes("ok")])
        let events = broker.workerEvents()
        #expect(events.contains(.drained(worker: bytes("w1"))))
        #expect(events.contains(.sessionsMoved(worker: bytes("w1"), successor: bytes("s1"), moved: 2, failed: 0)))
        #expect(broker.core.sessions.count(on: bytes("s1")) == 2 && broker.core.stats.sessionsMoved == 2)
        #expect(broker.core.metrics.handoffPause.count == 2)
    }

    @Test("a failed EXPORT keeps the session on the old worker, which serves it until the session drain timeout")
    func exportFailure() throws {
        var (broker, _) = try twoWorkers { $0.sessionDrainTimeout = .seconds(10) }
        broker.drain("w1", successor: "s1")
        #expect(broker.takeCommands().map(\.frames) == [["0x05", "a"]])
        broker.sessionRequest(from: "c", key: "a", "2")
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("error"), bytes("busy")])
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w1"], "the held request goes to the old worker")
        #expect(broker.records.contains {
            if case .sessionHandoffFailed(let key, _, _, let reason, _) = $0 { key == bytes("a") && reason.contains("busy") }
            else { false }
        })
        #expect(broker.takeCommands().isEmpty, "no IMPORT, and s1 never heard of the session")
        #expect(broker.core.sessions[bytes("a")]?.worker == bytes("w1"))
        broker.advance(milliseconds: 11_000)
        #expect(broker.takeCommands().contains { $0.worker == "w1" && $0.frames == ["0x04", "a"] })
        broker.sessionRequest(from: "c", key: "a", "3")
        #expect(broker.takeReplyCodes().contains("session-lost"))
    }

    @Test("a failed IMPORT keeps the session on the old worker and tells the successor END")
    func importFailure() throws {
        var (broker, _) = try twoWorkers()
        broker.drain("w1", successor: "s1")
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("s")])
        _ = broker.takeCommands()
        broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes("a"), bytes("error"), bytes("bad state")])
        #expect(broker.takeCommands().map { [$0.worker] + $0.frames } == [["s1", "0x04", "a"]])
        #expect(broker.core.sessions[bytes("a")]?.worker == bytes("w1") && broker.core.stats.handoffsFailed == 1)
    }

    @Test("an EXPORT not answered within the handoff timeout is abandoned; a late answer is ignored")
    func exportTimeout() throws {
        var (broker, _) = try twoWorkers { $0.handoffTimeout = .seconds(2) }
        broker.drain("w1", successor: "s1")
        _ = broker.takeCommands()
        broker.advance(milliseconds: 1_000)
        #expect(broker.core.sessions[bytes("a")]?.move != nil, "not yet")
        broker.advance(milliseconds: 2_000)
        #expect(broker.core.sessions[bytes("a")]?.move == nil && broker.core.sessions[bytes("a")]?.worker == bytes("w1"))
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("late")])
        #expect(broker.takeCommands().isEmpty, "no IMPORT after the move was abandoned")
        #expect(broker.core.stats.staleSessionMessages == 1)
    }

    @Test("when the successor is lost mid-move the session stays; when the old worker is lost, it is lost")
    func lossesDuringAMove() throws {
        var (broker, bToken) = try twoWorkers()
        broker.drain("w1", successor: "s1")
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("s")])
        broker.processEnded("s1")
        #expect(broker.core.sessions[bytes("a")]?.worker == bytes("w1") && broker.core.sessions[bytes("a")]?.move == nil)
        broker.reply("w1", token: bToken, "1")
        broker.processEnded("w1")
        #expect(broker.core.sessions[bytes("a")]?.lost == true && broker.core.sessions[bytes("b")]?.lost == true)
        #expect(broker.workerEvents().contains(.sessionsMoved(worker: bytes("w1"), successor: bytes("s1"), moved: 0,
                                                             failed: 2)))
    }

    @Test("an old worker that ends in the middle of its sessions' moves reports them lost with it, not failed")
    func oldWorkerEndsMidMove() throws {
        var (broker, bToken) = try twoWorkers()
        broker.reply("w1", token: bToken, "1")
        broker.drain("w1", successor: "s1")
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("x")])
        broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes("a"), bytes("ok")])
        broker.processEnded("w1")
        #expect(broker.workerEvents().contains(.sessionsMoved(worker: bytes("w1"), successor: bytes("s1"), moved: 1,
                                                             failed: 0, lost: 1)))
        #expect(broker.core.stats.handoffsFailed == 0, "a session lost with its worker is no failed handoff")
        #expect(broker.core.stats.sessionsMoved == 1)
    }

    @Test("a rollback moves sessions back the same way")
    func moveBack() throws {
        var (broker, bToken) = try twoWorkers()
        broker.reply("w1", token: bToken, "1")
        broker.drain("w1", successor: "s1")
        for key in ["a", "b"] {
            broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes(key), bytes("ok"), bytes("x")])
            broker.workerMessage([bytes("s1"), WireProtocol.importByte, bytes(key), bytes("ok")])
        }
        broker.readyDealer("w2", handoff: true)
        broker.drain("s1", successor: "w2")
        for key in ["a", "b"] {
            broker.workerMessage([bytes("s1"), WireProtocol.exportByte, bytes(key), bytes("ok"), bytes("x")])
            broker.workerMessage([bytes("w2"), WireProtocol.importByte, bytes(key), bytes("ok")])
        }
        #expect(broker.core.sessions.count(on: bytes("w2")) == 2)
        #expect(broker.workerEvents().contains(.drained(worker: bytes("s1"))))
    }

    @Test("without handoff the old worker keeps its sessions and serves them; it drains when they end")
    func noHandoff() throws {
        var (broker, bToken) = try twoWorkers(handoff: false)
        broker.drain("w1", successor: "s1")
        #expect(broker.takeCommands().isEmpty, "no EXPORT to a worker without the capability")
        broker.request(from: "c", "stateless")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["s1"], "no new requests for the draining worker")
        broker.sessionRequest(from: "c", key: "a", "2")
        let a = try #require(broker.takeSessionDispatches().first)
        #expect(a.worker == "w1", "but its sessions' requests still go to it")
        broker.reply("w1", token: a.token, "2")
        broker.reply("w1", token: bToken, "1")
        broker.workerMessage([bytes("w1"), WireProtocol.endByte, bytes("a")])
        #expect(!broker.workerEvents().contains(.drained(worker: bytes("w1"))))
        broker.workerMessage([bytes("w1"), WireProtocol.endByte, bytes("b")])
        #expect(broker.workerEvents().contains(.drained(worker: bytes("w1"))))
    }

    @Test("a session in flight when its drain timeout passes gets its reply; its next request learns it was lost")
    func drainTimeoutWithRequestInFlight() throws {
        var (broker, bToken) = try twoWorkers(handoff: false) { $0.sessionDrainTimeout = .seconds(2) }
        broker.drain("w1", successor: "s1")
        broker.advance(milliseconds: 3_000)
        #expect(broker.takeCommands().map(\.frames).sorted { $0[1] < $1[1] } == [["0x04", "a"], ["0x04", "b"]])
        broker.reply("w1", token: bToken, "1")
        #expect(broker.takeReplyCodes() == [nil], "the request in flight is answered by its worker")
        #expect(broker.workerEvents().contains(.drained(worker: bytes("w1"))))
        broker.sessionRequest(from: "c", key: "b", "2")
        #expect(broker.takeReplyCodes() == ["session-lost"])
        broker.sessionRequest(from: "c", key: "b", "3")
        #expect(broker.takeSessionDispatches().map(\.worker) == ["s1"], "a new session on the new worker")
        #expect(broker.core.stats.sessionsDrainTimedOut == 2)
    }

    @Test("a drain undone by a rollback: the worker takes requests again and keeps its sessions")
    func resumeAfterRollback() throws {
        var (broker, _) = try twoWorkers()
        broker.drain("w1", successor: "s1")
        #expect(broker.takeCommands().map(\.frames) == [["0x05", "a"]])
        broker.sessionRequest(from: "c", key: "a", "2")
        #expect(broker.takeSessionDispatches().isEmpty, "held while it moves")
        var out: [BrokerAction] = []
        broker.core.resumeWorker(bytes("w1"), now: broker.now, into: &out)
        broker.sent += out
        #expect(broker.takeSessionDispatches().map(\.worker) == ["w1"], "a's held request goes back to w1")
        #expect(broker.core.sessions[bytes("a")]?.move == nil && broker.core.sessions[bytes("a")]?.drainDeadline == nil)
        broker.workerMessage([bytes("w1"), WireProtocol.exportByte, bytes("a"), bytes("ok"), bytes("late")])
        #expect(broker.takeCommands().isEmpty, "a late EXPORT answer starts nothing")
        for n in 1...4 { broker.request(from: "c", "stateless-\(n)") }
        #expect(broker.takeSessionDispatches().contains { $0.worker == "w1" }, "w1 takes new requests again")
    }
}
