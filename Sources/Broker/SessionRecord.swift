import DequeModule

/// What the broker knows about one open session (docs/protocol.md, "Sessions" and 2.5).
struct SessionRecord {
    /// The session key the client sent after `BATON-SESSION`.
    let key: [UInt8]
    /// The worker holding the session's state; `nil` while its opening request waits in the queue, and
    /// after the session was lost.
    var worker: [UInt8]?
    /// The id of the session's request that is queued as its opener or in flight at its worker (requests of
    /// one key go one at a time).
    var busy: UInt64?
    /// Requests of the session waiting behind ``busy``, in the order they were read.
    var held: Deque<PendingRequest> = []
    /// Monotonic time of the last request or answer (for ``BrokerConfiguration/sessionIdleTimeout``).
    var lastActivity: UInt64
    /// Monotonic time the session opened.
    let openedAt: UInt64
    /// Requests read for the session.
    var requests = 0
    /// The worker said END while a request of the session was in flight: the session ends once it is answered.
    var endRequested = false
    /// The session is gone from its worker (lost with it, or its drain timed out): the session's next request
    /// is answered `session-lost`.
    var lost = false
    /// The worker it was on when it was lost, for the record.
    var lostFrom: [UInt8]?
    /// Whether its end is already recorded (a drain timeout is recorded when it happens, not when the next
    /// request learns of it).
    var endRecorded = false
    /// A move to another worker under way (a handoff during a reload).
    var move: SessionMove?
    /// Whether it is in its worker's list of sessions waiting for a free slot (at most once).
    var waitingForSlot = false
    /// Its worker is being replaced without handoff: the session ends as `drain-timeout` at this time.
    var drainDeadline: UInt64?

    /// Whether a request of the session can be sent to its worker now (capacity aside).
    var canDispatch: Bool { busy == nil && move == nil && !lost && worker != nil }
}

/// A session moving from one worker to another: its requests are held meanwhile.
struct SessionMove {
    /// Where a move is.
    enum Phase: Equatable {
        /// Waiting for the session's request in flight to be answered.
        case waiting
        /// EXPORT sent to the old worker.
        case exporting
        /// IMPORT sent to the successor.
        case importing
    }

    /// The worker the session moves to.
    let successor: [UInt8]
    /// Where the move is.
    var phase: Phase = .waiting
    /// Monotonic time the session's requests started being held.
    let since: UInt64
    /// When the current EXPORT or IMPORT is abandoned (nil while waiting).
    var deadline: UInt64?
}
