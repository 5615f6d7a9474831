/// A change worth recording in the history database. Times are readings of the monotonic clock
/// (``Instant/now()``); the recorder turns them into wall-clock time.
public enum HistoryEvent: Sendable, Equatable {
    /// A client request was accepted into the queue.
    case requestReceived(id: RequestID, client: ClientID, bytes: Int, at: Instant)
    /// A request was sent to a worker (attempt 1, 2, … with retries).
    case requestDispatched(id: RequestID, worker: WorkerID, attempt: Int, at: Instant)
    /// A request went back to the queue (its worker was lost and it will be retried).
    case requestRequeued(id: RequestID, at: Instant)
    /// A request was answered by its worker.
    case requestReplied(id: RequestID, bytes: Int, at: Instant)
    /// A request was answered with `BATON-ERR code`.
    case requestFailed(id: RequestID, code: BatonErrorCode, at: Instant)
    /// A request's answer (a worker's reply or `BATON-ERR`) did not reach its client: the client had gone, or
    /// it did not read its replies. Recorded as `failed` with `reply-dropped`.
    case requestReplyDropped(id: RequestID, at: Instant)
    /// A request carries a session key (recorded with its request row).
    case requestSession(id: RequestID, key: SessionKey)
    /// A session's first request was sent to `worker`: the session is open there.
    case sessionOpened(key: SessionKey, worker: WorkerID, at: Instant)
    /// A session's state moved from one worker to another (a handoff during a reload); its requests were
    /// held for `pause`.
    case sessionMoved(key: SessionKey, from: WorkerID, to: WorkerID, pause: TimeSpan, at: Instant)
    /// A handoff failed (export or import refused, or timed out); the session stayed on `from`.
    case sessionHandoffFailed(key: SessionKey, from: WorkerID, to: WorkerID, reason: String, at: Instant)
    /// A session ended, after `requests` requests.
    case sessionEnded(key: SessionKey, worker: WorkerID, reason: SessionEndReason, requests: Int, at: Instant)
    /// The supervisor started a worker process.
    case workerSpawned(workerID: WorkerID, slot: Int, pid: Int32, generation: GenerationID, at: Instant)
    /// A worker said READY.
    case workerReady(workerID: WorkerID, at: Instant)
    /// The broker dropped a worker (silent, unreachable, hung) — for external workers this is their end.
    case workerLost(workerID: WorkerID, reason: WorkerLossReason, at: Instant)
    /// A worker process ended.
    case workerExited(workerID: WorkerID, code: Int32?, signal: Int32?, reason: WorkerExitReason, at: Instant)
    /// A new generation of the worker code (a reload started).
    case generationCreated(id: GenerationID, executable: String, arguments: [String], sha256: String, at: Instant)
    /// The digest of a generation's executable became known (it is computed off the supervisor thread).
    case generationDigest(id: GenerationID, sha256: String)
    /// A generation changed state.
    case generationState(id: GenerationID, state: GenerationState, reason: String?, at: Instant)
    /// A supervisor event: started, stopped, slot failed, …
    case supervisor(kind: SupervisorEventKind, slot: Int?, workerID: WorkerID?, generation: GenerationID?, detail: String?, at: Instant)

    /// The `request.error` of a request whose answer was dropped (``requestReplyDropped(id:at:)``).
    public static let replyDroppedError = "reply-dropped"

    /// Whether the event is about one request (these may be dropped when the recorder falls behind; the
    /// others never are).
    public var isRequestEvent: Bool {
        switch self {
        case .requestReceived, .requestDispatched, .requestRequeued, .requestReplied, .requestFailed, .requestSession,
             .requestReplyDropped:
            true
        case .sessionOpened, .sessionMoved, .sessionHandoffFailed, .sessionEnded, .workerSpawned, .workerReady,
             .workerLost, .workerExited, .generationCreated, .generationDigest, .generationState, .supervisor:
            false
        }
    }
}

/// Where history events go: the recorder's queue. Implementations must never block the caller.
public protocol HistorySink: Sendable {
    /// Hands over a batch of events; `events` is left empty (its storage may be swapped).
    func submit(_ events: inout [HistoryEvent])

    /// Calls `done`, on any thread, once the events submitted before this call are committed (or cannot be);
    /// never blocks the caller.
    func flush(then done: @escaping @Sendable () -> Void)
}

extension HistorySink {
    /// Calls `done` at once: for sinks that hold nothing back.
    public func flush(then done: @escaping @Sendable () -> Void) {
        done()
    }
}
