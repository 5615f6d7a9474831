import BatonProtocol

/// What the broker knows about one connected worker.
public struct WorkerRecord: Sendable {
    /// The worker's ZeroMQ routing id.
    public let id: WorkerID
    /// How its messages are framed.
    public var framing: WorkerFraming
    /// Whether it announced itself with the heartbeat protocol's READY (`0x01`) and so is held to liveness.
    public var heartbeating: Bool
    /// Monotonic time of the last message from it.
    public var lastSeen: Instant
    /// How many requests it may hold at once: the capacity its READY declared (1 unless it said more).
    public var capacity: Int = 1
    /// Whether its READY declared the `handoff` capability (it answers EXPORT and IMPORT).
    public var canHandOff = false
    /// The requests it holds, by request id, each with the time it was sent.
    public var inFlight: [RequestID: InFlightRequest] = [:]
    /// Its recent service time: an exponentially weighted moving average (weight 1/8) of the
    /// time each of its requests took to serve, measured from its dispatch or from the worker's previous reply,
    /// whichever came later (see ``measure(dispatchedAt:now:)``); nil until its first reply.
    public var serviceTime: TimeSpan?
    /// Monotonic time of its last reply (``Instant/zero``: none yet).
    public var lastReplyAt = Instant.zero
    /// When it was last given a request (or registered), as a broker-wide sequence number: the lower, the
    /// less recently used.
    public var lastUsed: UInt64 = 0
    /// Whether it is being drained for a replacement: it gets no new requests.
    public var isDraining = false
    /// Replies it has delivered.
    public var served: UInt64 = 0
    /// The connection its last message came on.
    public var connection: WorkerConnection = .unknown

    /// Whether it holds at least one request.
    public var isBusy: Bool { !inFlight.isEmpty }

    /// Whether it holds fewer requests than its capacity (draining or not).
    public var hasFreeCapacity: Bool { inFlight.count < capacity }

    /// Requests it can take now: its free capacity, or 0 while it is draining.
    public var freeSlots: Int { isDraining ? 0 : capacity - inFlight.count }

    /// The requests it holds, oldest first (by request id, which grows with arrival).
    public var requests: [PendingRequest] { inFlight.values.sorted { $0.request.id < $1.request.id }.map(\.request) }

    /// The earliest time one of its requests was sent to it, if it holds any.
    public var oldestDispatch: Instant? { inFlight.values.lazy.map(\.dispatchedAt).min() }

    /// Folds the service time of a request answered at `now` into ``serviceTime``: the time since its dispatch,
    /// or since the previous reply if that came later.
    ///
    /// A worker that holds several requests and serves them one after another answers each one its own
    /// service time after the previous one: the time a request waited behind the others is not its service
    /// time, and counting it would count the worker's queue twice (the expected delay multiplies by the
    /// requests in flight already). For a worker that serves K requests at once, the time between replies is
    /// its service time divided by K, which is what a new request costs it.
    mutating func measure(dispatchedAt: Instant, now: Instant) {
        let sample = now.since(max(dispatchedAt, lastReplyAt))
        lastReplyAt = now
        serviceTime = serviceTime.map { ($0 * 7 + sample) / 8 } ?? sample
    }
}

/// A request a worker holds, and when it was sent to that worker.
public struct InFlightRequest: Sendable {
    /// The request.
    public var request: PendingRequest
    /// Monotonic time it was sent to the worker.
    public var dispatchedAt: Instant
}
