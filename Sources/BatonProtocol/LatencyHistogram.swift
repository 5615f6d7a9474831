/// A histogram of durations over fixed buckets, cheap enough for the broker's hot path.
///
/// ``record(_:)`` finds the bucket with a short scan and increments a counter in place: it never allocates
/// and never locks, as long as the owner is the only holder of the counts (a copy taken as a snapshot shares
/// them until the next ``record(_:)``, which then copies the counts once: one allocation per snapshot, none
/// per observation). Buckets follow Prometheus' `le` rule: a value lands in the first bucket whose upper bound
/// is at least the value; the last bucket (`+Inf`) takes the rest.
public struct LatencyHistogram: Sendable, Equatable, Codable {
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

    /// The upper bound of the bucket that holds the `q`-quantile (0…1) of the observations made since `earlier`
    /// (a previous copy of this histogram; nil: all of them): "p99 ≤ this". Nil without observations, and
    /// `UInt64.max` when the quantile is past the last finite bound.
    public func quantile(_ q: Double, since earlier: LatencyHistogram? = nil) -> UInt64? {
        let base = earlier.flatMap { $0.bounds == bounds ? $0.counts : nil } ?? Array(repeating: 0, count: counts.count)
        let window = zip(counts, base).map { $0 &- $1 }
        let total = window.reduce(0, &+)
        guard total > 0 else { return nil }
        let rank = UInt64((Double(total) * min(max(q, 0), 1)).rounded(.up))
        var running: UInt64 = 0
        for (index, count) in window.enumerated() {
            running &+= count
            if running >= max(rank, 1) { return index < bounds.count ? bounds[index] : .max }
        }
        return .max
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
