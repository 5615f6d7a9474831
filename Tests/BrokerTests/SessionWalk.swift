import BatonProtocol
import Testing
@testable import Broker

/// A seeded generator (SplitMix64), so a failing walk can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A worker's routing id as text, in messages about the walk.
func text(_ id: WorkerID) -> String { String(decoding: id.bytes, as: UTF8.self) }

/// What a fake worker process holds: the sessions whose state it keeps, the commands it has not answered.
struct FakeWorker {
    let id: WorkerID
    var framing: WorkerFraming
    var handoff: Bool
    var connection: Int32
    /// Keys whose state it keeps (from an opening request or an IMPORT, until END).
    var state: Set<[UInt8]> = []
    var exports: [[UInt8]] = []
    var imports: [[UInt8]] = []
    /// Session answers it already sent, to send again late.
    var answered: [[[UInt8]]] = []
    /// Tokens it was sent, to reply again (duplicates, late replies).
    var tokens: [[UInt8]] = []
    /// Sends no heartbeats.
    var silent = false
}

/// Drives a ``BrokerCore`` through events from hostile clients, hostile workers and faults, and checks after
/// every event what the broker promises: one reply per request, sessions on exactly one live worker, per-key
/// order, counters equal to what the structures give, and `drained` exactly when due.
struct SessionWalk {
    var core: BrokerCore
    var now = Instant.zero + .seconds(1)
    var fakes: [WorkerID: FakeWorker] = [:]
    var nextWorker = 0
    var nextTag = 0
    var nextConnection: Int32 = 10
    /// Requests sent and not answered, by envelope tag.
    var outstanding: Set<[UInt8]> = []
    var answeredTags: Set<[UInt8]> = []
    var lastDispatched: [[UInt8]: RequestID] = [:]
    var drainedReported: Set<WorkerID> = []
    var processEndsDue: [WorkerID] = []
    var violations: [String] = []
    var stopping = false
    var events = 0
    /// Percent of events that are faults (crashes, hostile messages, silences).
    var faultPercent = 10

    init(_ configure: (inout BrokerConfiguration) -> Void = { _ in }) {
        var configuration = BrokerConfiguration()
        configure(&configuration)
        core = BrokerCore(configuration: configuration)
    }

    mutating func violation(_ text: String) {
        if violations.count < 5 { violations.append("event \(events): \(text)") }
    }

    // MARK: Events

    /// Runs one event against the core, then plays the fake peers' side of what it sent and checks.
    mutating func run(_ name: String, _ event: (inout BrokerCore, Instant, inout [BrokerAction]) -> Void) {
        events += 1
        var out: [BrokerAction] = []
        event(&core, now, &out)
        absorb(out, after: name)
        check(after: name)
    }

    mutating func client(_ body: [[UInt8]]) {
        nextTag += 1
        let tag = Array("t\(nextTag)".utf8)
        outstanding.insert(tag)
        run("client request") { $0.clientMessage([Array("c".utf8), tag, []] + body, now: $1, into: &$2) }
    }

    mutating func worker(_ id: WorkerID, _ payload: [[UInt8]], _ name: String) {
        guard let fake = fakes[id] else { return }
        let frames = [id.bytes] + (fake.framing == .request ? [[]] : []) + payload
        run(name) { $0.workerMessage(frames, now: $1, connection: fake.connection, into: &$2) }
    }

    // MARK: What the peers see

    mutating func absorb(_ out: [BrokerAction], after name: String) {
        var drainedNow: [WorkerID] = []
        for action in out {
            switch action {
            case .dispatch(let worker, _, let token, let body):
                fakes[worker]?.tokens.append(token)
                guard body.first == WireProtocol.sessionMarker, body.count >= 3,
                      let id = RequestID(token: token)
                else { continue }
                let key = body[body.startIndex + 1]
                if let last = lastDispatched[key], id <= last {
                    violation("\(name): request \(id) of key \(key) dispatched after request \(last)")
                }
                lastDispatched[key] = id
                guard fakes[worker] != nil else { continue }
                let opens = core.knownWorkers[worker]?.inFlight[id]?.request.opensSession ?? true
                if !opens && fakes[worker]?.state.contains(key) != true {
                    violation("\(name): request \(id) of key \(key) sent to \(text(worker)), which has no state for it")
                }
                fakes[worker]?.state.insert(key)
            case .send(let worker, let frames):
                guard var fake = fakes[worker] else { continue }
                if fake.framing == .request { violation("\(name): a session command sent to REQ worker \(text(worker))") }
                let key = frames[1]
                switch frames[0] {
                case WireProtocol.endByte:
                    // Commands reach a worker in order: those of the key before this END are behind it.
                    fake.state.remove(key)
                    fake.exports.removeAll { $0 == key }
                    fake.imports.removeAll { $0 == key }
                case WireProtocol.exportByte:
                    if !fake.state.contains(key) { violation("\(name): EXPORT of \(key) to \(text(worker)) without state") }
                    fake.exports.append(key)
                case WireProtocol.importByte:
                    fake.state.insert(key)
                    fake.imports.append(key)
                default: violation("\(name): unknown command \(frames[0])")
                }
                fakes[worker] = fake
            case .reply(let envelope, _, _):
                let tag = envelope[envelope.startIndex + 1]
                if answeredTags.contains(tag) { violation("\(name): a second reply to \(text(tag))") }
                if outstanding.remove(tag) == nil && !answeredTags.contains(tag) {
                    violation("\(name): a reply to unknown \(text(tag))")
                }
                answeredTags.insert(tag)
            case .worker(.drained(let worker)):
                drainedReported.insert(worker)
                drainedNow.append(worker)
                if !stopping { processEndsDue.append(worker) }  // the supervisor stops a drained worker
            case .worker(.lost(let worker, _, _)):
                fakes[worker] = nil
            case .worker(.hung(let worker, _)):
                fakes[worker] = nil
                processEndsDue.append(worker)
            case .worker, .heartbeat, .record, .log:
                break
            }
        }
        for worker in drainedNow {
            guard let record = core.knownWorkers[worker] else { continue }
            if !record.isDraining || record.isBusy || core.sessions.count(on: worker) > 0 {
                violation("\(name): \(text(worker)) reported drained while it holds \(record.inFlight.count) "
                          + "requests and \(core.sessions.count(on: worker)) sessions")
            }
        }
    }
}
