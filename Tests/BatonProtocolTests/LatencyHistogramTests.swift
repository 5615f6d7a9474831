import Testing

@testable import BatonProtocol

@Suite("Fixed-bucket latency histogram")
struct LatencyHistogramTests {
    @Test("a value lands in the first bucket whose bound is at least the value, larger ones in +Inf")
    func bucketsFollowTheLeRule() {
        var histogram = LatencyHistogram(bounds: [10, 20, 30])
        for value: UInt64 in [0, 10, 11, 20, 30, 31, 1_000] { histogram.record(value) }
        #expect(histogram.counts == [2, 2, 1, 2])
        #expect(histogram.cumulativeCounts == [2, 4, 5, 7])
        #expect(histogram.count == 7)
        #expect(histogram.sum == 1_102)
    }

    @Test("a copy taken as a snapshot keeps its counts while the original goes on counting")
    func snapshotsAreIndependent() {
        var histogram = LatencyHistogram(bounds: LatencyHistogram.requestBounds)
        histogram.record(1_000_000)
        let snapshot = histogram
        histogram.record(2_000_000_000)
        #expect(snapshot.count == 1)
        #expect(histogram.count == 2)
        #expect(histogram.cumulativeCounts.last == 2)
        #expect(snapshot.counts[3] == 1, "1 ms is at most the fourth bound, 1 ms")
    }

    @Test("the standard bounds ascend")
    func standardBoundsAscend() {
        for bounds in [LatencyHistogram.requestBounds, LatencyHistogram.reloadBounds] {
            #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        }
    }
}
