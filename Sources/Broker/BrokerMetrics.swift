import BatonProtocol

/// Request outcomes and latencies, aggregated by ``BrokerCore`` on the broker thread as requests are
/// dispatched and answered, for `/metrics`.
///
/// Updating it never allocates or locks (see ``LatencyHistogram``); other threads see it only as a copy taken
/// by a ``BrokerServer/snapshot()`` command.
public struct BrokerMetrics: Sendable, Equatable {
    /// Time from receipt to the answer (the worker's reply or a `BATON-ERR` one), for every answered request.
    public var requestDuration = LatencyHistogram(bounds: LatencyHistogram.requestBounds)
    /// Time from receipt to the first dispatch to a worker.
    public var queueWait = LatencyHistogram(bounds: LatencyHistogram.requestBounds)
    /// How long a session's requests were held while it moved to another worker (handoff).
    public var handoffPause = LatencyHistogram(bounds: LatencyHistogram.requestBounds)
    /// Requests answered with a worker's reply.
    public var replied: UInt64 = 0
    /// Requests answered with a `BATON-ERR` reply, by code (every code present, from zero).
    public var errors: [BatonErrorCode: UInt64]

    /// Creates empty metrics.
    public init() {
        errors = Dictionary(uniqueKeysWithValues: BatonErrorCode.allCases.map { ($0, 0) })
    }

    /// A request was sent to a worker.
    @inline(__always)
    mutating func dispatched(_ request: PendingRequest, now: Instant) {
        if request.attempts == 1 { queueWait.record(now.since(request.receivedAt).nanoseconds) }
    }

    /// A worker's reply to a request was forwarded.
    @inline(__always)
    mutating func answered(_ request: PendingRequest, now: Instant) {
        replied &+= 1
        requestDuration.record(now.since(request.receivedAt).nanoseconds)
    }

    /// A session moved after its requests were held for `pause`.
    mutating func handoffPaused(_ pause: TimeSpan) {
        handoffPause.record(pause.nanoseconds)
    }

    /// A request was answered with an error reply.
    @inline(__always)
    mutating func failed(_ request: PendingRequest, code: BatonErrorCode, now: Instant) {
        errors[code, default: 0] &+= 1
        requestDuration.record(now.since(request.receivedAt).nanoseconds)
    }
}

/// What the broker thread reports for `/metrics`, `/healthz` and `/readyz`.
public struct BrokerSnapshot: Sendable, Equatable {
    /// Counters and gauges.
    public var stats: BrokerStats
    /// Outcomes and latency histograms.
    public var metrics: BrokerMetrics
    /// Whether a graceful shutdown (drain) has begun.
    public var draining: Bool
    /// Whether the broker loop is still running (false in the answer given as the thread ends).
    public var running: Bool

    /// Creates a snapshot.
    public init(stats: BrokerStats, metrics: BrokerMetrics, draining: Bool, running: Bool) {
        self.stats = stats
        self.metrics = metrics
        self.draining = draining
        self.running = running
    }
}
