import BatonProtocol
import Testing

@testable import Broker

extension CoreHarness {
    /// A worker message that arrived on connection `fd`.
    mutating func workerMessage(_ frames: [[UInt8]], connection fd: Int32) {
        var out: [BrokerAction] = []
        core.workerMessage(frames, now: now, connection: fd, into: &out)
        sent += out
    }

    /// The backend connection `fd` closed.
    mutating func connectionClosed(_ fd: Int32) {
        var out: [BrokerAction] = []
        core.connectionClosed(fd, now: now, into: &out)
        sent += out
    }

    mutating func processEnded(_ worker: String) {
        var out: [BrokerAction] = []
        core.workerProcessEnded(bytes(worker), reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: now, into: &out)
        sent += out
    }

    /// Error codes of the replies sent so far (and forgets every reply).
    mutating func takeErrorCodes() -> [String] {
        takeReplies().compactMap { $0.body.first == "BATON-ERR" ? $0.body[1] : nil }
    }

    var records: [HistoryEvent] { sent.compactMap { if case .record(let event) = $0 { event } else { nil } } }
}

@Suite("Faults in the pure broker core: shutdown, drain timeout, late replies, closed connections")
struct BrokerCoreFaultTests {
    @Test("a request read while shutting down is answered shutting-down at once and recorded")
    func requestDuringShutdown() {
        var broker = CoreHarness { $0.recordHistory = true }
        var out: [BrokerAction] = []
        broker.core.beginShutdown(now: broker.now, into: &out)
        broker.request(from: "late", "job")
        let failed = broker.records.compactMap { event -> BatonErrorCode? in
            if case .requestFailed(_, let code, _) = event { code } else { nil }
        }
        #expect(failed == [.shuttingDown])
        #expect(broker.takeErrorCodes() == ["shutting-down"])
        #expect(broker.records.contains { if case .requestReceived = $0 { true } else { false } })
        #expect(broker.core.stats.queueDepth == 0)
    }

    @Test("past the drain timeout, in-flight requests are answered worker-died and their late replies are stale")
    func failInFlight() {
        var broker = CoreHarness { $0.recordHistory = true }
        broker.ready("W")
        broker.request(from: "c", "job")
        let token = broker.held("W")[0].id.token
        var out: [BrokerAction] = []
        broker.core.failInFlight(reason: "drain timeout", now: broker.now, into: &out)
        broker.sent += out
        #expect(broker.takeErrorCodes() == ["worker-died"])
        #expect(broker.core.inFlightCount == 0)
        broker.workerMessage([bytes("W"), [], token, [], bytes("late")])
        #expect(broker.takeReplies().isEmpty)
        #expect(broker.core.stats.staleReplies == 1)
    }

    @Test("an external REQ worker dropped after a request timeout is taken back by its late reply, which is dropped")
    func externalWorkerComesBack() {
        var broker = CoreHarness { $0.requestTimeout = .seconds(1) }
        broker.ready("ext")
        broker.request(from: "c", "slow")
        broker.advance(milliseconds: 1_100)
        #expect(broker.takeErrorCodes() == ["worker-died"])
        #expect(broker.core.knownWorkers.isEmpty)
        broker.request(from: "c", "queued meanwhile")
        broker.workerMessage([bytes("ext"), [], WireProtocol.token(for: 1), [], bytes("late")])
        #expect(broker.core.stats.staleReplies == 1)
        #expect(broker.takeDispatches().map(\.body).last == "queued meanwhile", "the worker serves again")
        broker.answer("ext")
        #expect(broker.takeReplies().map(\.body) == [["queued meanwhile"]], "the late reply itself was dropped")
    }

    @Test("a managed worker dropped as hung stays ignored, and so does a READY its process sent before it ended")
    func managedWorkerStaysBanned() {
        var broker = CoreHarness { $0.requestTimeout = .seconds(1) }
        broker.core.workerProcessStarted(bytes("m"))
        broker.ready("m")
        broker.request(from: "c", "slow")
        broker.advance(milliseconds: 1_100)
        broker.workerMessage([bytes("m"), [], WireProtocol.token(for: 1), [], bytes("late")])
        #expect(broker.core.knownWorkers.isEmpty)
        broker.processEnded("m")
        // Routing ids are never reused: this READY was still in ZeroMQ's queues when the process ended.
        broker.ready("m")
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.core.stats.staleReplies == 2, "the late reply and the READY were both ignored")
        _ = broker.takeDispatches()
        broker.request(from: "c", "next")
        #expect(broker.takeDispatches().isEmpty, "nothing is sent to a process that ended")
        // The ban expires: the table holds only recent ends.
        broker.advance(milliseconds: 31_000)
        broker.ready("m")
        #expect(broker.core.knownWorkers.count == 1)
        broker.request(from: "c", "again")
        #expect(broker.takeDispatches().map(\.body).last == "again", "the worker serves again")
    }

    @Test("a heartbeat from a worker taken back without heartbeats holds it to liveness again")
    func heartbeatUpgrades() {
        var broker = CoreHarness { $0.requestTimeout = .seconds(1) }
        broker.readyHeartbeating("d")
        broker.request(from: "c", "slow")
        broker.advance(milliseconds: 1_100)
        broker.workerMessage([bytes("d"), WireProtocol.token(for: 1), [], bytes("late")])
        #expect(broker.core.knownWorkers[bytes("d")]?.heartbeating == false)
        broker.workerMessage([bytes("d"), [0x02]])
        #expect(broker.core.knownWorkers[bytes("d")]?.heartbeating == true)
        broker.advance(milliseconds: 5_000)
        #expect(broker.core.knownWorkers.isEmpty, "silent past its liveness")
    }

    @Test("a busy worker whose connection closes and that heartbeats on a new one: its request gets bad-reply at once")
    func lostReplyHeartbeating() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("d"), [0x01]], connection: 7)
        broker.request(from: "c", "big")
        broker.connectionClosed(7)
        #expect(broker.takeReplies().isEmpty, "no answer before the cause is known")
        broker.advance(milliseconds: 10)
        broker.workerMessage([bytes("d"), [0x02]], connection: 7)
        #expect(broker.takeErrorCodes() == ["bad-reply"])
        #expect(broker.core.idleWorkers == [bytes("d")])
        broker.request(from: "c", "small")
        #expect(broker.takeDispatches().last?.body == "small")
    }

    @Test("a managed REQ worker whose connection closed is answered bad-reply after the grace if its process lives")
    func lostReplyManagedRequestWorker() {
        var broker = CoreHarness()
        broker.core.workerProcessStarted(bytes("r"))
        broker.workerMessage([bytes("r"), [], bytes("READY")], connection: 9)
        broker.request(from: "c", "big")
        broker.connectionClosed(8)
        broker.advance(milliseconds: 1_000)
        #expect(broker.takeReplies().isEmpty, "another connection closed")
        broker.connectionClosed(9)
        #expect(broker.core.nextDeadline != nil)
        broker.advance(milliseconds: 400)
        #expect(broker.takeReplies().isEmpty)
        broker.advance(milliseconds: 200)
        #expect(broker.takeErrorCodes() == ["bad-reply"])
        #expect(broker.core.idleWorkers == [bytes("r")])
    }

    @Test("a closed connection then the process's end within the grace: worker-died, as for any crash")
    func lostConnectionThenCrash() {
        var broker = CoreHarness()
        broker.core.workerProcessStarted(bytes("r"))
        broker.workerMessage([bytes("r"), [], bytes("READY")], connection: 9)
        broker.request(from: "c", "job")
        broker.connectionClosed(9)
        broker.advance(milliseconds: 5)
        broker.processEnded("r")
        #expect(broker.takeErrorCodes() == ["worker-died"])
        broker.advance(milliseconds: 1_000)
        #expect(broker.takeReplies().isEmpty, "answered once")
    }

    @Test("a reply that arrives on a new connection after the old one closed is delivered")
    func replyAfterReconnect() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("r"), [], bytes("READY")], connection: 9)
        broker.request(from: "c", "job")
        broker.connectionClosed(9)
        broker.advance(milliseconds: 50)
        broker.answer("r")
        broker.advance(milliseconds: 1_000)
        #expect(broker.takeReplies().map(\.body) == [["job"]])
    }

    @Test("an external worker not heard from after its connection closed is left to the request timeout")
    func lostExternalWorker() {
        var broker = CoreHarness { $0.requestTimeout = .seconds(2) }
        broker.workerMessage([bytes("x"), [], bytes("READY")], connection: 4)
        broker.request(from: "c", "job")
        broker.connectionClosed(4)
        broker.advance(milliseconds: 600)
        #expect(broker.takeReplies().isEmpty, "it may have crashed or be reconnecting")
        broker.advance(milliseconds: 1_500)
        #expect(broker.takeErrorCodes() == ["worker-died"])
        #expect(broker.core.stats.workersHung == 1)
        #expect(broker.core.connectionLosses.isEmpty)
    }

    @Test("an external heartbeating worker heard from long after its connection closed: bad-reply then")
    func lateHeartbeatExternal() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("x"), [0x01]], connection: 4)
        broker.request(from: "c", "big")
        broker.connectionClosed(4)
        broker.advance(milliseconds: 900)
        #expect(broker.takeReplies().isEmpty)
        broker.workerMessage([bytes("x"), [0x02]], connection: 6)
        #expect(broker.takeErrorCodes() == ["bad-reply"])
    }
}

@Suite("Heartbeats that cannot be sent, in the pure broker core")
struct BrokerCoreReconnectTests {
    @Test("a heartbeat that finds gone a worker whose connection just closed keeps it: it may be reconnecting")
    func reconnectingWorkerKept() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("d"), [0x01]], connection: 5)
        broker.connectionClosed(5)
        var out: [BrokerAction] = []
        broker.core.workerUnreachable(bytes("d"), undelivered: [], now: broker.now, into: &out)
        #expect(broker.core.knownWorkers.count == 1)
        broker.advance(milliseconds: 100)
        broker.core.workerUnreachable(bytes("d"), undelivered: [], now: broker.now, into: &out)
        #expect(broker.core.knownWorkers.count == 1)
        broker.workerMessage([bytes("d"), [0x02]], connection: 5)
        broker.core.workerUnreachable(bytes("d"), undelivered: [], now: broker.now, into: &out)
        #expect(broker.core.knownWorkers.isEmpty, "heard from since: a failed heartbeat means it is gone")
    }

    @Test("a worker still unreachable well after its connection closed is gone: a failed heartbeat removes it")
    func notBackInTime() {
        var broker = CoreHarness()
        broker.workerMessage([bytes("d"), [0x01]], connection: 5)
        broker.connectionClosed(5)
        broker.advance(milliseconds: 600)
        var out: [BrokerAction] = []
        broker.core.workerUnreachable(bytes("d"), undelivered: [], now: broker.now, into: &out)
        #expect(broker.core.knownWorkers.isEmpty)
    }
}
