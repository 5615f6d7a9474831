/// A length of time, in nanoseconds: a timeout, a deadline's distance, a measured latency. Never negative.
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length in nanoseconds.
    public let nanoseconds: UInt64

    /// A span of `nanoseconds`.
    @inline(__always)
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// No time.
    public static let zero = TimeSpan(nanoseconds: 0)

    /// `count` microseconds (saturating).
    public static func microseconds(_ count: UInt64) -> TimeSpan { TimeSpan(scaling: count, by: 1_000) }

    /// `count` milliseconds (saturating).
    public static func milliseconds(_ count: UInt64) -> TimeSpan { TimeSpan(scaling: count, by: 1_000_000) }

    /// `count` whole seconds (saturating).
    public static func seconds(_ count: UInt64) -> TimeSpan { TimeSpan(scaling: count, by: 1_000_000_000) }

    /// The longest span a flag or request may give: about 31 years, far below what the nanoseconds hold.
    public static let maxSeconds: Double = 1e9

    /// `seconds` (a flag's or a request's value); nil when it is not a finite number in 0…``maxSeconds``.
    public init?(seconds: Double) {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maxSeconds else { return nil }
        nanoseconds = UInt64(seconds * 1e9)
    }

    private init(scaling count: UInt64, by unit: UInt64) {
        let (product, overflow) = count.multipliedReportingOverflow(by: unit)
        nanoseconds = overflow ? .max : product
    }

    /// The span in seconds, for people and for JSON.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// The span in whole milliseconds, rounded down (poll timeouts).
    public var milliseconds: UInt64 { nanoseconds / 1_000_000 }

    /// The sum (saturating).
    @inline(__always)
    public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return TimeSpan(nanoseconds: overflow ? .max : sum)
    }

    /// The difference, or zero if `rhs` is longer.
    @inline(__always)
    public static func - (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(nanoseconds: lhs.nanoseconds > rhs.nanoseconds ? lhs.nanoseconds - rhs.nanoseconds : 0)
    }

    /// `count` times as long (saturating).
    @inline(__always)
    public static func * (span: TimeSpan, count: UInt64) -> TimeSpan { TimeSpan(scaling: span.nanoseconds, by: count) }

    @inline(__always)
    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Seconds with up to three decimals (`1.5s`), for logs and messages.
    public var description: String {
        let milliseconds = nanoseconds / 1_000_000
        let whole = milliseconds / 1_000, fraction = milliseconds % 1_000
        guard fraction != 0 else { return "\(whole)s" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)s"
    }
}
