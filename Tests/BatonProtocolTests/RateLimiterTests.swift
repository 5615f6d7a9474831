import Testing

@testable import BatonProtocol

@Suite("Rate-limited logging of bad input")
struct RateLimiterTests {
    @Test("allows a burst per window and reports how many were held back when the next window opens")
    func burstThenSuppress() {
        var limiter = RateLimiter(burst: 2, window: TimeSpan(nanoseconds: 1_000))
        #expect(limiter.allow(now: Instant(nanoseconds: 10)) == (true, 0))
        #expect(limiter.allow(now: Instant(nanoseconds: 20)) == (true, 0))
        #expect(limiter.allow(now: Instant(nanoseconds: 30)) == (false, 0))
        #expect(limiter.allow(now: Instant(nanoseconds: 40)) == (false, 0))
        #expect(limiter.allow(now: Instant(nanoseconds: 1_010)) == (true, 2))
        #expect(limiter.allow(now: Instant(nanoseconds: 1_020)) == (true, 0))
    }
}

@Suite("Quantiles from the latency histogram")
struct LatencyQuantileTests {
    @Test("the quantile is the upper bound of the bucket holding it, over a window between two copies")
    func quantiles() {
        var histogram = LatencyHistogram(bounds: [1_000, 2_000, 4_000])
        #expect(histogram.quantile(0.99) == nil)
        for _ in 0..<98 { histogram.record(500) }
        histogram.record(1_500)
        histogram.record(3_000)
        #expect(histogram.quantile(0.5) == 1_000)
        #expect(histogram.quantile(0.99) == 2_000)
        #expect(histogram.quantile(1.0) == 4_000)
        let earlier = histogram
        histogram.record(10_000)
        #expect(histogram.quantile(0.99, since: earlier) == .max, "only the new, slow observation counts")
        #expect(histogram.quantile(0.5, since: histogram) == nil)
    }
}
