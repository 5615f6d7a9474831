import BatonProtocol
import Glibc
@testable import Broker

/// A walk whose peers are raw bytes: clients send fuzzed bodies, workers fuzzed frames (READY, heartbeats,
/// replies, END/EXPORT/IMPORT answers, junk) with no fake worker model, and the supervisor drains, starts and
/// ends workers as it would. The broker's own invariants (``check(after:)``) hold after every event, and
/// every request gets exactly one reply by the end.
extension SessionWalk {
    /// The routing ids the fuzzed workers use; the empty one and a long one are hostile.
    static let frameWorkers: [WorkerID] = (["w1", "w2", "w3", "r1"] as [String]).map { WorkerID($0) }
        + [WorkerID(routingID: []), WorkerID(routingID: [UInt8](repeating: 0xFF, count: 300))]

    /// Plays a script of raw frames (see ``ByteScript``); the first byte chooses the settings.
    static func playFrames(script bytes: [UInt8]) -> SessionWalk {
        var script = ByteScript(bytes)
        let settings = script.byte()
        var walk = SessionWalk { configure(&$0, settings) }
        walk.rawWorker(WorkerID("w1"), [[0x01], Array("2".utf8), Array("handoff".utf8)])
        walk.rawWorker(WorkerID("r1"), [[], Array("READY".utf8)])
        // Routing ids are never reused: once its process ended, an id sends nothing new (what it sent before
        // and ZeroMQ still held is `SessionWalkScriptTests.staleReadyAfterProcessEnd`).
        var ended: Set<WorkerID> = []
        while !script.isAtEnd && walk.violations.isEmpty {
            walk.rawEvent(&script, ended: &ended)
            while let id = walk.processEndsDue.first, walk.violations.isEmpty {
                walk.processEndsDue.removeFirst()
                ended.insert(id)
                if traceFrames { walk.trace("event \(walk.events + 1): process of \(text(id)) ended") }
                walk.run("stopped worker's process ended") { $0.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: $1, into: &$2) }
            }
        }
        if walk.violations.isEmpty {
            var rng = SplitMix(state: 0)
            walk.endScript(&rng)
        }
        return walk
    }

    /// Set (by `baton-fuzz` when BATON_FUZZ_TRACE is in the environment) to print each raw event.
    nonisolated(unsafe) static var traceFrames = false

    /// Writes a line to standard error unbuffered, so it is there when a failure aborts the process.
    func trace(_ line: String) {
        var line = line + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    mutating func rawWorker(_ id: WorkerID, _ payload: [[UInt8]], connection: Int32 = 1) {
        if Self.traceFrames { trace("event \(events + 1): worker \(text(id)) on \(connection): \(payload)") }
        run("worker message") { $0.workerMessage([id.bytes] + payload, now: $1, connection: connection, into: &$2) }
    }

    mutating func rawEvent(_ script: inout ByteScript, ended: inout Set<WorkerID>) {
        let id = Self.frameWorkers[script.below(Self.frameWorkers.count)]
        guard !ended.contains(id) else { return }
        let known = core.knownWorkers[id]
        let delimiter: [[UInt8]] = known?.framing == .request ? [[]] : []
        switch script.below(16) {
        case 0..<3:
            let key = Self.keys[script.below(Self.keys.count)]
            let session = script.below(3) == 0 ? [WireProtocol.sessionMarker, key] : []
            let body = session + script.frames(limit: 4)
            if Self.traceFrames { trace("event \(events + 1): client \(body)") }
            client(body)
        case 3..<7: rawWorker(id, script.frames(limit: 6), connection: Int32(script.below(3)))
        case 7..<9:
            // A reply with a token the broker gave out, so replies are not left to chance.
            guard let request = known?.inFlight.keys.sorted().first else { return }
            rawWorker(id, delimiter + [request.token, [], script.frame()])
        case 9:
            let command = [WireProtocol.endByte, WireProtocol.exportByte, WireProtocol.importByte][script.below(3)]
            let status = [WireProtocol.statusOK, WireProtocol.statusError, script.frame()][script.below(3)]
            rawWorker(id, [command, Self.keys[script.below(Self.keys.count)], status, script.frame()])
        case 10: rawWorker(id, [[0x01], Array("\(script.below(4))".utf8), Array("handoff".utf8)])
        case 11: supervise(id, &script, ended: &ended)
        case 12..<15:
            now += .milliseconds(20) * UInt64(script.byte())
            if Self.traceFrames { trace("event \(events + 1): tick to \(now.since(.zero).milliseconds) ms") }
            run("tick") { $0.tick(now: $1, into: &$2) }
        default:
            guard !core.stopping && script.below(8) == 0 else { return }
            if Self.traceFrames { trace("event \(events + 1): shutdown") }
            shutDown()
        }
    }

    /// What the supervisor does, within its contract: drain to a successor that is neither draining nor
    /// receiving moves, start a process for an unknown id, end a process, lose a connection.
    mutating func supervise(_ id: WorkerID, _ script: inout ByteScript, ended: inout Set<WorkerID>) {
        let choice = script.below(6)
        if Self.traceFrames { trace("event \(events + 1): supervisor \(choice) for \(text(id))") }
        switch choice {
        case 0:
            guard core.knownWorkers[id]?.isDraining == false else { return }
            let receiving = Set(core.moves.values.map(\.successor))
            let successor = Self.frameWorkers[script.below(Self.frameWorkers.count)]
            let usable = successor != id && core.knownWorkers[successor]?.isDraining == false && !receiving.contains(successor)
            guard !receiving.contains(id) else { return }
            run("drain") { $0.drainWorker(id, successor: usable ? successor : nil, now: $1, into: &$2) }
        case 1:
            guard core.knownWorkers[id] == nil else { return }
            core.workerProcessStarted(id, generation: GenerationID(script.below(3)))
        case 2:
            ended.insert(id)
            run("process ended") { $0.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: $1, into: &$2) }
        case 3: run("connection closed") { $0.connectionClosed(Int32(script.below(3)), now: $1, into: &$2) }
        case 4:
            let newest = core.knownWorkers[id]?.inFlight.keys.max()
            run("unreachable") { $0.workerUnreachable(id, undelivered: newest.map { [$0] } ?? [], now: $1, into: &$2) }
        default: core.preferSessions(onGeneration: Self.generations[script.below(4)])
        }
    }
}
