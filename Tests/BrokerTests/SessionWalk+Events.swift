import BatonProtocol
import Testing
@testable import Broker

/// The events of ``SessionWalk``: hostile clients, hostile or buggy workers, a supervisor draining workers,
/// faults and time.
extension SessionWalk {
    static let keys: [[UInt8]] = ["a", "b", "c", "d", "e", "f"].map { Array($0.utf8) }
        + [[0x00, 0xFF, 0x04], [UInt8](repeating: 0x05, count: 255)]

    /// The generations the supervisor prefers sessions on: none, or one of three.
    static let generations: [GenerationID?] = [nil, GenerationID(0), GenerationID(1), GenerationID(2)]

    /// Known, live fake workers, in a fixed order.
    var live: [WorkerID] {
        fakes.keys.filter { core.knownWorkers[$0] != nil }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    mutating func step(_ rng: inout SplitMix) {
        if !processEndsDue.isEmpty {
            let id = processEndsDue.removeFirst()
            return run("stopped worker's process ended") { $0.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: $1, into: &$2) }
        }
        if Int.random(in: 0..<100, using: &rng) < faultPercent { return fault(&rng) }
        switch Int.random(in: 0..<110, using: &rng) {
        case 0..<30:
            let key = Self.keys.randomElement(using: &rng)!
            client([WireProtocol.sessionMarker, key, Array("q".utf8)])
        case 30..<38: client([Array("stateless".utf8)])
        case 38: client([WireProtocol.sessionMarker, Bool.random(using: &rng) ? [] : [UInt8](repeating: 1, count: 256),
                         [1]])
        case 39..<69: replyInFlight(&rng)
        case 69..<72: workerEnd(&rng)
        case 72..<80: answerCommand(export: true, &rng)
        case 80..<88: answerCommand(export: false, &rng)
        case 88..<91: newWorker(&rng)
        case 91..<94: drain(&rng)
        case 94: core.preferSessions(onGeneration: Self.generations.randomElement(using: &rng)!)
        case 95..<107: wait(milliseconds: [5, 50, 250, 1_000, 2_600].randomElement(using: &rng)!, &rng)
        default: heartbeats()
        }
    }

    /// A hostile worker, a crash, a lost connection, a long silence.
    mutating func fault(_ rng: inout SplitMix) {
        let some = live.randomElement(using: &rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0:
            guard let id = some, let token = fakes[id]?.tokens.randomElement(using: &rng) else { return }
            worker(id, [token, [], Array("again".utf8)], "stale or duplicate reply")
        case 1:
            guard let id = some, let payload = fakes[id]?.answered.randomElement(using: &rng) else { return }
            worker(id, payload, "late duplicate session answer")
        case 2:
            guard let id = some, var fake = fakes[id] else { return }
            fake.state = []
            fake.exports = []
            fake.imports = []
            fake.handoff = fake.framing == .dealer && Bool.random(using: &rng)
            fakes[id] = fake
            worker(id, readyMessage(fake, capacity: Int.random(in: 1...3, using: &rng)), "READY again")
        case 3:
            guard let id = some else { return }
            run("process ended") { $0.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: $1, into: &$2) }
        case 4: for _ in 0..<[6, 31, 301].randomElement(using: &rng)! { wait(milliseconds: 1_000, &rng) }
        case 5:
            guard let id = some, let fd = fakes[id]?.connection else { return }
            run("connection closed") { $0.connectionClosed(fd, now: $1, into: &$2) }
            nextConnection += 1
            fakes[id]?.connection = nextConnection
        case 6: if let id = some { worker(id, [[0x03]], "DISCONNECT") }
        case 7:
            guard let id = some else { return }
            let junk: [[[UInt8]]] = [[Array("junk".utf8)], [[0x05]], [[0x04], [1], [2]], [[0x06], [1], [2], [3]]]
            worker(id, junk.randomElement(using: &rng)!, "malformed")
        case 8:
            guard let id = some else { return }
            let newest = core.knownWorkers[id]?.inFlight.keys.max()
            let undelivered = Bool.random(using: &rng) ? newest.map { [$0] } ?? [] : []
            run("unreachable") { $0.workerUnreachable(id, undelivered: undelivered, now: $1, into: &$2) }
        default: if let id = some { fakes[id]?.silent.toggle() }
        }
    }

    func readyMessage(_ fake: FakeWorker, capacity: Int) -> [[UInt8]] {
        guard fake.framing == .dealer else { return [Array("READY".utf8)] }
        return [[0x01], Array("\(capacity)".utf8)] + (fake.handoff ? [Array("handoff".utf8)] : [])
    }

    mutating func newWorker(_ rng: inout SplitMix, always: Bool = false) {
        guard always || live.count(where: { core.knownWorkers[$0]?.isDraining == false }) < 5 else { return }
        nextWorker += 1
        nextConnection += 1
        let id = WorkerID("w\(nextWorker)")
        let dealer = Int.random(in: 0..<5, using: &rng) > 0
        let fake = FakeWorker(id: id, framing: dealer ? .dealer : .request,
                              handoff: dealer && Int.random(in: 0..<10, using: &rng) < 8, connection: nextConnection)
        fakes[id] = fake
        if dealer { core.workerProcessStarted(id, generation: GenerationID(nextWorker % 3)) }
        worker(id, readyMessage(fake, capacity: Int.random(in: 1...3, using: &rng)), "READY")
    }

    mutating func replyInFlight(_ rng: inout SplitMix) {
        let busy = live.filter { core.knownWorkers[$0]?.isBusy == true }
        guard let id = busy.randomElement(using: &rng), let worker = core.knownWorkers[id],
              let request = worker.inFlight.keys.sorted().randomElement(using: &rng)
        else { return }
        self.worker(id, [request.token, [], Array("answer".utf8)], "reply")
    }

    mutating func workerEnd(_ rng: inout SplitMix) {
        let dealers = live.filter { fakes[$0]?.framing == .dealer }
        guard let id = dealers.randomElement(using: &rng), var fake = fakes[id] else { return }
        let key = Bool.random(using: &rng) ? fake.state.sorted { $0.lexicographicallyPrecedes($1) }.randomElement(using: &rng)
            : Self.keys.randomElement(using: &rng)
        // A worker that says END for a session it has not finished importing contradicts itself: not tried.
        guard let key, !fake.imports.contains(key) else { return }
        fake.state.remove(key)
        fakes[id] = fake
        worker(id, [WireProtocol.endByte, key], "worker END")
    }

    /// A worker answers one of its EXPORTs (`export`) or IMPORTs: mostly ok, sometimes an error, sometimes never.
    mutating func answerCommand(export: Bool, _ rng: inout SplitMix) {
        let asked = live.filter { (export ? fakes[$0]?.exports : fakes[$0]?.imports)?.isEmpty == false }
        guard let id = asked.randomElement(using: &rng), var fake = fakes[id] else { return }
        let key = export ? fake.exports.remove(at: Int.random(in: 0..<fake.exports.count, using: &rng))
            : fake.imports.remove(at: Int.random(in: 0..<fake.imports.count, using: &rng))
        let roll = Int.random(in: 0..<20, using: &rng)
        guard roll > 0 else { return fakes[id] = fake }  // never answers
        let command = export ? WireProtocol.exportByte : WireProtocol.importByte
        let ok = roll > 3
        let payload = ok ? [command, key, WireProtocol.statusOK] + (export ? [Array("state".utf8)] : [])
            : [command, key, Array("error".utf8), Array("cannot".utf8)]
        if !ok && !export { fake.state.remove(key) }
        fake.answered.append(payload)
        fakes[id] = fake
        worker(id, payload, "\(export ? "EXPORT" : "IMPORT") \(ok ? "ok" : "error")")
    }

    /// The supervisor drains a worker, with a successor or not (never one being drained or receiving moves).
    mutating func drain(_ rng: inout SplitMix) {
        let receiving = Set(core.moves.values.map(\.successor))
        let candidates = live.filter { core.knownWorkers[$0]?.isDraining == false && !receiving.contains($0) }
        guard let id = candidates.randomElement(using: &rng) else { return }
        var successor: WorkerID?
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<5:  // a reload: the successor starts first
            newWorker(&rng, always: true)
            successor = WorkerID("w\(nextWorker)")
        case 5..<8: successor = live.filter { $0 != id && core.knownWorkers[$0]?.isDraining == false }.randomElement(using: &rng)
        default: successor = nil
        }
        run("drain") { $0.drainWorker(id, successor: successor, now: $1, into: &$2) }
    }

    mutating func heartbeats() {
        for id in live where fakes[id]?.framing == .dealer && fakes[id]?.silent == false {
            worker(id, [[0x02]], "heartbeat")
        }
    }

    mutating func wait(milliseconds: UInt64, _ rng: inout SplitMix) {
        if Int.random(in: 0..<10, using: &rng) > 0 { heartbeats() }
        now += .milliseconds(milliseconds)
        run("tick") { $0.tick(now: $1, into: &$2) }
    }

    /// Stops the broker: queued and held requests are answered at once, those in flight when answered or
    /// past the drain timeout.
    mutating func shutDown() {
        stopping = true
        run("shutdown") { $0.beginShutdown(now: $1, into: &$2) }
    }

    mutating func finish(_ rng: inout SplitMix) {
        if !core.stopping { shutDown() }
        for _ in 0..<20 { replyInFlight(&rng) }
        run("drain timeout at shutdown") { $0.failInFlight(reason: "drain timeout", now: $1, into: &$2) }
        if !outstanding.isEmpty { violation("\(outstanding.count) requests never answered") }
    }
}
