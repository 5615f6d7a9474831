import CBatonSys

/// A reading of the monotonic clock (`CLOCK_MONOTONIC`), in nanoseconds: cheap to read and compare, and only
/// differences mean anything. The history recorder turns instants into wall-clock time.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds on the monotonic clock.
    public let nanoseconds: UInt64

    /// The instant `nanoseconds` after the clock's origin.
    @inline(__always)
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The clock's origin: before every reading.
    public static let zero = Instant(nanoseconds: 0)

    /// Now.
    @inline(__always)
    public static func now() -> Instant { Instant(nanoseconds: baton_monotonic_ns()) }

    /// The time from `earlier` to this instant; zero if `earlier` is later.
    @inline(__always)
    public func since(_ earlier: Instant) -> TimeSpan {
        TimeSpan(nanoseconds: nanoseconds > earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0)
    }

    /// `span` later (saturating at the largest instant).
    @inline(__always)
    public static func + (instant: Instant, span: TimeSpan) -> Instant {
        let (sum, overflow) = instant.nanoseconds.addingReportingOverflow(span.nanoseconds)
        return Instant(nanoseconds: overflow ? .max : sum)
    }

    /// `span` earlier (saturating at ``zero``).
    @inline(__always)
    public static func - (instant: Instant, span: TimeSpan) -> Instant {
        Instant(nanoseconds: instant.nanoseconds > span.nanoseconds ? instant.nanoseconds - span.nanoseconds : 0)
    }

    /// `span` later.
    @inline(__always)
    public static func += (instant: inout Instant, span: TimeSpan) { instant = instant + span }

    @inline(__always)
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// The nanoseconds, for logs.
    public var description: String { "\(nanoseconds)ns" }
}
