import BatonProtocol
import Broker
import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("DISCONNECT: a worker that leaves on purpose")
struct BrokerCoreDisconnectTests {
    @Test("an idle DEALER worker that says DISCONNECT is removed at once, with no request lost and no hang counted")
    func idleWorkerLeaves() {
        var broker = CoreHarness()
        broker.readyHeartbeating("H")
        broker.workerMessage([bytes("H"), [0x03]])
        #expect(broker.core.knownWorkers.isEmpty)
        #expect(broker.core.stats.workersDisconnected == 1)
        #expect(broker.core.stats.workersExpired == 0 && broker.core.stats.workersHung == 0)
        let events = broker.sent.compactMap { if case .worker(let event) = $0 { event } else { nil } }
        #expect(events.last == .lost(worker: bytes("H"), reason: .disconnected, hadRequest: false))
        #expect(!events.contains { if case .hung = $0 { true } else { false } })
        // It is not banned: the same id may register again.
        broker.readyHeartbeating("H")
        #expect(broker.core.knownWorkers.count == 1)
    }

    @Test("a worker that says DISCONNECT while holding a request: the request is answered worker-died at once")
    func busyWorkerLeavesAndItsRequestFails() {
        var broker = CoreHarness()
        broker.readyHeartbeating("H")
        broker.request(from: "c", "job")
        #expect(broker.takeDispatches().map(\.worker) == ["H"])
        broker.workerMessage([bytes("H"), [0x03]])
        let replies = broker.takeReplies()
        #expect(replies.map(\.envelope) == [["c"]])
        #expect(replies.first?.body.prefix(2) == ["BATON-ERR", "worker-died"])
        #expect(broker.core.stats.inFlight == 0 && broker.core.stats.workerDied == 1)
    }

    @Test("with retry-on-crash, the request of a worker that says DISCONNECT goes to another worker")
    func busyWorkerLeavesAndItsRequestIsRetried() {
        var broker = CoreHarness { $0.retryOnCrash = 1 }
        broker.readyHeartbeating("H")
        broker.request(from: "c", "job")
        _ = broker.takeDispatches()
        broker.ready("R")
        broker.workerMessage([bytes("H"), [0x03]])
        #expect(broker.takeDispatches().map(\.worker) == ["R"])
        broker.answer("R")
        #expect(broker.takeReplies().map(\.body) == [["job"]])
    }

    @Test("DISCONNECT in REQ framing ([\"\"][0x03]) counts too; from an unknown worker it is ignored")
    func requestFramingAndUnknownWorkers() {
        var broker = CoreHarness()
        broker.ready("R")
        broker.workerMessage([bytes("R"), [], [0x03]])
        #expect(broker.core.knownWorkers.isEmpty)
        broker.workerMessage([bytes("stranger"), [0x03]])
        #expect(broker.core.stats.workersDisconnected == 1)
        #expect(broker.core.stats.malformedWorkerMessages == 0)
    }

    @Test("a heartbeating worker that falls silent is dropped for its heartbeats, not for a request timeout")
    func heartbeatLossSaysHeartbeat() {
        var broker = CoreHarness {
            $0.heartbeatInterval = .milliseconds(100)
            $0.heartbeatLiveness = 2
        }
        broker.readyHeartbeating("H")
        for _ in 0..<4 { broker.advance(milliseconds: 100) }
        let reasons = broker.sent.compactMap { if case .worker(.hung(_, let reason)) = $0 { reason } else { nil } }
        #expect(reasons.map(\.description) == ["no heartbeat for more than 200 ms"])
    }
}

@Suite("DISCONNECT over real sockets", .serialized, .timeLimit(.minutes(1)))
struct BrokerServerDisconnectTests {
    @Test("a DEALER worker that says DISCONNECT with a request: its client gets worker-died long before liveness")
    func disconnectFailsTheRequestAtOnce() throws {
        let events = EventLog()
        let broker = try LiveBroker { options in
            options.policy.heartbeatInterval = .seconds(1)
            options.policy.heartbeatLiveness = 60
            options.observer = { events.append($0) }
        }
        let worker = try Socket(broker.context, .dealer)
        let client = try broker.client()
        defer { broker.close(worker, client) }
        worker.linger = 0
        try worker.setRoutingID(Array("leaver".utf8))
        try worker.setReceiveTimeout(milliseconds: 5_000)
        try worker.connect(broker.endpoints.backend)
        try worker.send(frame: [0x01])
        try broker.waitUntil("worker registered") { try broker.server.statsBlocking().workers == 1 }
        try client.send(frames: frames("", "unfinished"))
        var request: Message?
        repeat { request = try worker.receive() } while request?.frames == [[0x02]]
        #expect(request?.frames.last == Array("unfinished".utf8))
        try worker.send(frame: [0x03])
        // The client waits 5 s at most: only the DISCONNECT, not the 60 s liveness, can answer it in time.
        let reply = texts(try client.receive())
        #expect(reply.prefix(3) == ["", "BATON-ERR", "worker-died"])
        let stats = try broker.server.statsBlocking()
        #expect(stats.workers == 0 && stats.workersDisconnected == 1)
        #expect(stats.workersExpired == 0 && stats.workersHung == 0)
        #expect(events.all.contains(.lost(worker: WorkerID("leaver"), reason: .disconnected, hadRequest: true)))
    }
}

/// Worker events the broker reported, collected from its observer thread.
final class EventLog: Sendable {
    private let events = Mutex<[WorkerEvent]>([])
    func append(_ event: WorkerEvent) { events.withLock { $0.append(event) } }
    var all: [WorkerEvent] { events.withLock { $0 } }
}
