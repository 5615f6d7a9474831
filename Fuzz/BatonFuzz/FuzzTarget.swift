import Foundation
@testable import Broker

/// The fuzz targets: what peers send Baton, each through the code that reads it.
enum FuzzTarget: String, CaseIterable {
    /// A worker's READY (``ReadyMessage``): frames, both framings, against a reference reading of the capacity.
    case ready
    /// Control JSON (``ControlCodec``): requests, reload requests and replies; what decodes re-encodes the same.
    case control
    /// HTTP request heads sent to the metrics server over a real loopback connection.
    case http
    /// ``BrokerCore`` fed raw client and worker frames and supervisor events, its invariants checked after
    /// every event and one reply per request at the end.
    case frames
    /// The session walk (faked workers, handoffs, crashes, reloads, shutdown) with its events from the input.
    case walk

    nonisolated(unsafe) static var selected = FuzzTarget.ready

    /// Sets up what the target keeps between inputs.
    func prepare() {
        if self == .http { HTTPTarget.start() }
        SessionWalk.traceFrames = ProcessInfo.processInfo.environment["BATON_FUZZ_TRACE"] != nil
    }

    func run(_ bytes: [UInt8]) {
        switch self {
        case .ready: ReadyTarget.run(bytes)
        case .control: ControlTarget.run(bytes)
        case .http: HTTPTarget.run(bytes)
        case .frames: WalkTarget.run(SessionWalk.playFrames(script: bytes))
        case .walk: WalkTarget.run(SessionWalk.play(script: bytes))
        }
    }
}

/// Fails on the first violation of a played walk.
enum WalkTarget {
    static func run(_ walk: SessionWalk) {
        if let first = walk.violations.first {
            let held = walk.outstanding.map { location(walk, $0) }.joined(separator: "; ")
            fuzzFailure("walk violation: \(first)" + (held.isEmpty ? "" : "; unanswered: \(held)"))
        }
        if !walk.outstanding.isEmpty { fuzzFailure("never answered: " + walk.outstanding.map { location(walk, $0) }.joined(separator: "; ")) }
    }

    /// Where the broker holds an unanswered request, for the failure message.
    static func location(_ walk: SessionWalk, _ tag: [UInt8]) -> String {
        let core = walk.core
        if let request = core.queue.first(where: { $0.frames[1] == tag }) {
            return "\(text(tag)) (request \(request.id)) queued"
        }
        for (key, record) in core.sessions.records {
            if let request = record.held.first(where: { $0.frames[1] == tag }) {
                return "\(text(tag)) (request \(request.id)) held by session \(key): \(record)"
            }
        }
        for worker in core.knownWorkers.values {
            if let entry = worker.inFlight.values.first(where: { $0.request.frames[1] == tag }) {
                return "\(text(tag)) (request \(entry.request.id)) in flight at \(text(worker.id)): \(worker)"
            }
        }
        return "\(text(tag)) nowhere"
    }
}
