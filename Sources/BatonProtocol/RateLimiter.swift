/// Allows a burst of events per window and counts the rest, so a flood of bad input cannot flood the log.
public struct RateLimiter: Sendable {
    /// Events allowed per window.
    public let burst: Int
    /// The window's length.
    public let window: TimeSpan
    private var windowStart = Instant.zero
    private var used = 0
    private var suppressed = 0

    /// Creates a limiter that allows `burst` events every `window`.
    public init(burst: Int, window: TimeSpan) {
        self.burst = burst
        self.window = window
    }

    /// Whether an event at `now` may be logged. When a new window opens, `suppressedBefore` tells how many
    /// events the previous windows held back (to be mentioned once), otherwise it is 0.
    public mutating func allow(now: Instant) -> (allowed: Bool, suppressedBefore: Int) {
        var reported = 0
        if now.since(windowStart) >= window {
            windowStart = now
            used = 0
            reported = suppressed
            suppressed = 0
        }
        if used < burst {
            used += 1
            return (true, reported)
        }
        suppressed += 1
        return (false, reported)
    }
}
