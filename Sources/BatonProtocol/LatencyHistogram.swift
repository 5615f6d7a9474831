/// A histogram of durations over fixed buckets, cheap enough for the broker's hot path.
///
/// ``record(_:)`` finds the bucket with a short scan and increments a counter in place: it never allocates
/// and never locks, as long as the owner is the only holder of the counts (a copy taken as a snapshot shares
/// them until the next ``record(_:)``, which then copies the counts once: one allocation per snapshot, none
/// per observation). Buckets follow Prometheus' `le` rule: a value lands in the first bucket whose upper bound
/// is at least the value; the last bucket (`+Inf`) takes the rest.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds of the finite buckets, in nanoseconds, ascending.
    public let bounds: [UInt64]
    /// Observations per bucket (not cumulative); one more entry than ``bounds``, the last for `+Inf`.
    public private(set) var counts: [UInt64]
    /// Observations in all.
    public private(set) var count: UInt64 = 0
    /// Sum of all observations, in nanoseconds.
    public private(set) var sum: UInt64 = 0

    /// Creates an empty histogram with the given upper bounds (nanoseconds, ascending).
    public init(bounds: [UInt64]) {
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Counts one observation of `nanoseconds`.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        var index = 0
        let finite = bounds.count
        while index < finite && nanoseconds > bounds[index] { index += 1 }
        counts[index] &+= 1
        count &+= 1
        sum &+= nanoseconds
    }

    /// Observations at or below each bound, then the total (for `le="+Inf"`): what Prometheus exposes.
    public var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return counts.map { count in
            running &+= count
            return running
        }
    }

    /// Buckets for request latency: 100 µs to 60 s.
    public static let requestBounds: [UInt64] = [
        100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 500_000_000,
        1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000, 60_000_000_000,
    ]

    /// Buckets for rolling reloads: 0.5 s to 30 min.
    public static let reloadBounds: [UInt64] = [
        500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000, 60_000_000_000,
        120_000_000_000, 300_000_000_000, 600_000_000_000, 1_800_000_000_000,
    ]
}
