import BatonProtocol
@testable import Broker

/// Drives a ``BrokerCore`` with a fake clock and collects what it asks to send.
struct CoreHarness {
    var core: BrokerCore
    var now = Instant.zero + .seconds(1)
    var sent: [BrokerAction] = []

    init(_ configure: (inout BrokerConfiguration) -> Void = { _ in }) {
        var configuration = BrokerConfiguration()
        configure(&configuration)
        core = BrokerCore(configuration: configuration)
    }

    mutating func advance(milliseconds: UInt64) {
        now += .milliseconds(milliseconds)
        var out: [BrokerAction] = []
        core.tick(now: now, into: &out)
        sent += out
    }

    /// A REQ worker says READY.
    mutating func ready(_ worker: String) {
        workerMessage([bytes(worker), [], bytes("READY")])
    }

    /// A heartbeating DEALER worker says READY (0x01).
    mutating func readyHeartbeating(_ worker: String) {
        workerMessage([bytes(worker), [0x01]])
    }

    mutating func workerMessage(_ frames: [[UInt8]]) {
        var out: [BrokerAction] = []
        core.workerMessage(frames, now: now, into: &out)
        sent += out
    }

    mutating func request(from client: String, _ body: String) {
        clientMessage([bytes(client), [], bytes(body)])
    }

    mutating func clientMessage(_ frames: [[UInt8]]) {
        var out: [BrokerAction] = []
        core.clientMessage(frames, now: now, into: &out)
        sent += out
    }

    /// The requests a worker holds, oldest first.
    func held(_ worker: String) -> [PendingRequest] {
        core.knownWorkers[bytes(worker)]?.requests ?? []
    }

    /// The REQ worker answers the one request it holds, echoing the body with a prefix.
    mutating func answer(_ worker: String, prefix: String = "") {
        let requests = held(worker)
        guard requests.count == 1, let request = requests.first else {
            Issue.record("worker \(worker) holds \(requests.count) requests, not one")
            return
        }
        workerMessage([bytes(worker), [], request.id.token, []]
                      + request.body.map { bytes(prefix) + $0 })
    }

    /// Dispatches sent so far, as (worker, body text), and forgets them.
    mutating func takeDispatches() -> [(worker: String, body: String)] {
        defer { sent.removeAll { if case .dispatch = $0 { true } else { false } } }
        return sent.compactMap {
            guard case .dispatch(let worker, _, _, let body) = $0 else { return nil }
            return (text(worker), body.map(text).joined(separator: "|"))
        }
    }

    /// Replies sent so far, as (envelope, body frames as text), and forgets them.
    mutating func takeReplies() -> [(envelope: [String], body: [String])] {
        defer { sent.removeAll { if case .reply = $0 { true } else { false } } }
        return sent.compactMap {
            guard case .reply(let envelope, let body, _) = $0 else { return nil }
            return (envelope.map(text), body.map(text))
        }
    }

    func heartbeats() -> [String] {
        sent.compactMap { if case .heartbeat(let worker) = $0 { text(worker) } else { nil } }
    }
}

import Testing

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The worker whose routing id is `text`'s UTF-8.
func bytes(_ text: String) -> WorkerID { WorkerID(text) }
/// The session key `text`'s UTF-8.
func bytes(_ text: String) -> SessionKey { SessionKey(bytes: Array(text.utf8)) }
func text(_ key: SessionKey) -> String { String(decoding: key.bytes, as: UTF8.self) }

extension WorkerID: ExpressibleByStringLiteral {
    public init(stringLiteral name: String) { self.init(name) }
}

extension RequestID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) { self.init(value) }
}

extension GenerationID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}
