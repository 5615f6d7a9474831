import Testing

@testable import BatonProtocol

@Suite("Rate-limited logging of bad input")
struct RateLimiterTests {
    @Test("allows a burst per window and reports how many were held back when the next window opens")
    func burstThenSuppress() {
        var limiter = RateLimiter(burst: 2, window: 1_000)
        #expect(limiter.allow(now: 10) == (true, 0))
        #expect(limiter.allow(now: 20) == (true, 0))
        #expect(limiter.allow(now: 30) == (false, 0))
        #expect(limiter.allow(now: 40) == (false, 0))
        #expect(limiter.allow(now: 1_010) == (true, 2))
        #expect(limiter.allow(now: 1_020) == (true, 0))
    }
}
