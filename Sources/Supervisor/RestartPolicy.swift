import BatonProtocol

/// How a slot's crashed worker is restarted: exponential backoff with jitter, reset after a healthy run, and
/// a crash-loop limit that marks the slot failed instead of restarting forever.
///
/// The delay before restart number `n` after consecutive crashes is
/// `min(maxDelay, initialDelay × multiplier^(n-1))`, scaled by a random factor in `1 ± jitter`.
/// With the defaults (100 ms, ×2, 10 s cap, ±20 %):
///
/// | crash in a row | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 and later |
/// |---|---|---|---|---|---|---|---|---|
/// | delay (before jitter) | 0.1 s | 0.2 s | 0.4 s | 0.8 s | 1.6 s | 3.2 s | 6.4 s | 10 s |
///
/// A worker that ran for at least `stableAfter` before it exited starts the count again at 1. More than
/// `maxCrashes` crashes within `crashWindow` mark the slot failed.
public struct RestartPolicy: Sendable, Equatable {
    /// Delay before the first restart.
    public var initialDelay = TimeSpan.milliseconds(100)
    /// Growth of the delay per consecutive crash.
    public var multiplier: Double = 2
    /// Largest delay.
    public var maxDelay = TimeSpan.seconds(10)
    /// Relative jitter: each delay is scaled by a random factor in `1 - jitter ... 1 + jitter`.
    public var jitter: Double = 0.2
    /// A worker that ran this long before exiting counts as healthy: the backoff starts over.
    public var stableAfter = TimeSpan.seconds(30)
    /// Crashes allowed within ``crashWindow``; one more marks the slot failed.
    public var maxCrashes: Int = 5
    /// The window over which crashes are counted.
    public var crashWindow = TimeSpan.seconds(60)

    /// The default policy.
    public init() {}

    /// The delay before the restart that follows `consecutive` crashes in a row (1 for the first), before
    /// jitter.
    public func baseDelay(afterConsecutiveCrashes consecutive: Int) -> TimeSpan {
        let exponent = Double(max(consecutive, 1) - 1)
        let delay = Double(initialDelay.nanoseconds) * _pow(multiplier, exponent)
        return delay >= Double(maxDelay.nanoseconds) ? maxDelay : TimeSpan(nanoseconds: UInt64(delay))
    }
}

/// `base^exponent` for a non-negative integral exponent, without Foundation.
func _pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 && result < 1e30 {
        result *= base
        remaining -= 1
    }
    return result
}
