import Synchronization

/// What the metrics endpoint's HTTP server did with its connections: how each one ended, and how many are
/// open (docs/metrics.md, `baton_metrics_http_connections_total` and `baton_metrics_http_connections_open`).
public struct MetricsHTTPStats: Sendable, Equatable {
    /// Connections whose request was answered in full (200, 404, 405, 503).
    public var answered: UInt64 = 0
    /// Connections whose head was malformed (400) or too large (431), answered in full.
    public var refused: UInt64 = 0
    /// Connections closed unanswered to make room for a new one while the table was full.
    public var evicted: UInt64 = 0
    /// Connections closed because the head or the answer's reading took longer than its deadline.
    public var timedOut: UInt64 = 0
    /// Connections the client closed or reset before its answer was written.
    public var clientClosed: UInt64 = 0
    /// Connections open now.
    public var open = 0
    /// The bound on open connections.
    public var capacity = 0

    /// Creates empty statistics.
    public init() {}

    /// Each outcome (``answered``, ``refused``, ``evicted``, ``timedOut``, ``clientClosed``) with its label value.
    public var outcomes: [(outcome: String, count: UInt64)] {
        [("answered", answered), ("refused", refused), ("evicted", evicted), ("timed-out", timedOut),
         ("client-closed", clientClosed)]
    }
}

/// The live ``MetricsHTTPStats``: written by the HTTP server's thread, read by a scrape.
final class MetricsHTTPCounters: Sendable {
    private let stats = Mutex(MetricsHTTPStats())

    /// A copy of the numbers now.
    var snapshot: MetricsHTTPStats { stats.withLock { $0 } }

    /// Changes the numbers.
    func update(_ change: (inout MetricsHTTPStats) -> Void) {
        stats.withLock { change(&$0) }
    }
}
