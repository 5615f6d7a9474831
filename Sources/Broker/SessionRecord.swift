import BatonProtocol
import DequeModule

/// What the broker knows about one open session (docs/protocol.md, "Sessions" and 2.5).
struct SessionRecord {
    /// The session key the client sent after `BATON-SESSION`.
    let key: SessionKey
    /// Where the session is in its life, with the data valid there (its worker, a move, a drain deadline).
    /// Changed through ``SessionTable``, which indexes sessions by worker.
    var stage: SessionStage
    /// The id of the session's request that is queued as its opener or in flight at its worker (requests of
    /// one key go one at a time).
    var busy: RequestID?
    /// Requests of the session waiting behind ``busy``, in the order they were read.
    var held: Deque<PendingRequest> = []
    /// Monotonic time of the last request or answer (for ``BrokerConfiguration/sessionIdleTimeout``).
    var lastActivity: Instant
    /// Monotonic time the session opened.
    let openedAt: Instant
    /// Requests read for the session.
    var requests = 0
    /// The worker whose list of sessions waiting for a free slot it is in (at most once); a session that moved
    /// while waiting may also have a stale entry in its old worker's list, which is skipped.
    var waitingAt: WorkerID?

    /// The worker holding the session's state; `nil` while its opening request waits in the queue, and
    /// after the session was lost.
    var worker: WorkerID? {
        switch stage {
        case .opening, .lost: nil
        case .active(let worker, _), .draining(let worker, _, _), .moving(let worker, _, _): worker
        }
    }

    /// The session is gone from its worker (lost with it, or its drain timed out): the session's next request
    /// is answered `session-lost`.
    var lost: Bool {
        if case .lost = stage { true } else { false }
    }

    /// The worker it was on when it was lost, for the record.
    var lostFrom: WorkerID? {
        if case .lost(let worker, _) = stage { worker } else { nil }
    }

    /// Whether its end is already recorded (a drain timeout is recorded when it happens, not when the next
    /// request learns of it).
    var endRecorded: Bool {
        if case .lost(_, let recorded) = stage { recorded } else { false }
    }

    /// The worker said END while a request of the session was in flight: the session ends once it is answered.
    var endRequested: Bool {
        switch stage {
        case .opening, .lost: false
        case .active(_, let ending), .draining(_, _, let ending), .moving(_, _, let ending): ending
        }
    }

    /// A move to another worker under way (a handoff during a reload).
    var move: SessionMove? {
        if case .moving(_, let move, _) = stage { move } else { nil }
    }

    /// Its worker is being replaced without handoff: the session ends as `drain-timeout` at this time.
    var drainDeadline: Instant? {
        if case .draining(_, let deadline, _) = stage { deadline } else { nil }
    }

    /// Whether it is on its worker with no END waiting and no move under way (draining or not).
    var isSettled: Bool {
        switch stage {
        case .active(_, let ending), .draining(_, _, let ending): !ending
        case .opening, .moving, .lost: false
        }
    }

    /// Whether a request of the session can be sent to its worker now (capacity aside).
    var canDispatch: Bool {
        guard busy == nil else { return false }
        switch stage {
        case .active, .draining: return true
        case .opening, .moving, .lost: return false
        }
    }
}
