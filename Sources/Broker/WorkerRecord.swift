/// What the broker knows about one connected worker.
public struct WorkerRecord: Sendable {
    /// The worker's ZeroMQ routing id.
    public let id: [UInt8]
    /// How its messages are framed.
    public var framing: WorkerFraming
    /// Whether it announced itself with the heartbeat protocol's READY (`0x01`) and so is held to liveness.
    public var heartbeating: Bool
    /// Monotonic time of the last message from it.
    public var lastSeen: UInt64
    /// How many requests it may hold at once: the capacity its READY declared (1 unless it said more).
    public var capacity: Int = 1
    /// Whether its READY declared the `handoff` capability (it answers EXPORT and IMPORT).
    public var canHandOff = false
    /// The requests it holds, by request id, each with the time it was sent.
    public var inFlight: [UInt64: InFlightRequest] = [:]
    /// Its recent service time in nanoseconds: an exponentially weighted moving average (weight 1/8) of the
    /// time from dispatch to reply of its requests; nil until its first reply.
    public var serviceTime: UInt64?
    /// When it was last given a request (or registered), as a broker-wide sequence number: the lower, the
    /// less recently used.
    public var lastUsed: UInt64 = 0
    /// Whether it is being drained for a replacement: it gets no new requests.
    public var isDraining = false
    /// Replies it has delivered.
    public var served: UInt64 = 0
    /// The file descriptor of the connection its last message came on (-1: unknown; -2: that connection
    /// closed and nothing came since), to tie a closed connection to the worker.
    public var connection: Int32 = -1
    /// Monotonic time its connection was last seen to close.
    public var connectionClosedAt: UInt64 = 0

    /// Whether it holds at least one request.
    public var isBusy: Bool { !inFlight.isEmpty }

    /// Whether it holds fewer requests than its capacity (draining or not).
    public var hasFreeCapacity: Bool { inFlight.count < capacity }

    /// Requests it can take now: its free capacity, or 0 while it is draining.
    public var freeSlots: Int { isDraining ? 0 : capacity - inFlight.count }

    /// The requests it holds, oldest first (by request id, which grows with arrival).
    public var requests: [PendingRequest] { inFlight.values.sorted { $0.request.id < $1.request.id }.map(\.request) }

    /// The earliest time one of its requests was sent to it, if it holds any.
    public var oldestDispatch: UInt64? { inFlight.values.lazy.map(\.dispatchedAt).min() }

    /// Folds one measured service time (dispatch to reply, nanoseconds) into ``serviceTime``.
    mutating func measure(_ sample: UInt64) {
        serviceTime = serviceTime.map { ($0 &* 7 &+ sample) / 8 } ?? sample
    }
}

/// A request a worker holds, and when it was sent to that worker.
public struct InFlightRequest: Sendable {
    /// The request.
    public var request: PendingRequest
    /// Monotonic time it was sent to the worker.
    public var dispatchedAt: UInt64
}
