import BatonProtocol

extension RateLimiter {
    /// Creates a limiter that allows `burst` events every `window`.
    init(burst: Int, window: TimeSpan) {
        self.init(burst: burst, window: window.nanoseconds)
    }

    /// Whether an event at `now` may be logged, and how many the previous windows held back.
    mutating func allow(at now: Instant) -> (allowed: Bool, suppressedBefore: Int) {
        allow(now: now.nanoseconds)
    }
}
