import BatonProtocol
import Testing

@testable import Supervisor

/// A deterministic generator (SplitMix64) so jittered delays are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite("Crash restart policy")
struct CrashTrackerTests {
    let second: Instant = 1_000_000_000

    @Test("the base delay doubles from 100 ms per consecutive crash and stops at the 10 s cap")
    func backoffTable() {
        let policy = RestartPolicy()
        let table = (1...9).map { policy.baseDelay(afterConsecutiveCrashes: $0).milliseconds }
        #expect(table == [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000])
    }

    @Test("jitter keeps every delay within ±20 % of the base and does not repeat one value")
    func jitterBounds() {
        var policy = RestartPolicy()
        policy.maxCrashes = 1_000
        var tracker = CrashTracker(policy: policy)
        var random = SeededGenerator(state: 42)
        var delays: [TimeSpan] = []
        for crash in 0..<50 {
            guard case .restart(let delay) = tracker.workerCrashed(ranFor: 0, now: UInt64(crash) * 100 * second,
                                                                   using: &random)
            else {
                Issue.record("unexpected failure")
                return
            }
            delays.append(delay)
        }
        let cap = policy.maxDelay.seconds
        for delay in delays.dropFirst(10) {
            #expect(delay.seconds >= cap * 0.8 && delay.seconds <= cap * 1.2)
        }
        #expect(Set(delays).count == delays.count)
    }

    @Test("a worker that ran well before crashing starts the backoff over")
    func healthyRunResets() {
        var policy = RestartPolicy()
        policy.jitter = 0
        var tracker = CrashTracker(policy: policy)
        var random = SeededGenerator(state: 1)
        _ = tracker.workerCrashed(ranFor: 0, now: 0, using: &random)
        _ = tracker.workerCrashed(ranFor: 0, now: second, using: &random)
        #expect(tracker.workerCrashed(ranFor: 0, now: 2 * second, using: &random) == .restart(after: 400_000_000))
        #expect(tracker.workerCrashed(ranFor: .seconds(31), now: 40 * second, using: &random)
                == .restart(after: 100_000_000))
    }

    @Test("more than five crashes within a minute mark the slot failed; crashes outside the window do not count")
    func crashLoopFails() {
        var policy = RestartPolicy()
        policy.jitter = 0
        var tracker = CrashTracker(policy: policy)
        var random = SeededGenerator(state: 7)
        for index in 0..<5 {
            let decision = tracker.workerCrashed(ranFor: 0, now: UInt64(index) * second, using: &random)
            #expect(decision == .restart(after: policy.baseDelay(afterConsecutiveCrashes: index + 1)))
        }
        #expect(tracker.workerCrashed(ranFor: 0, now: 5 * second, using: &random)
                == .fail(reason: "crashed 6 times within 60 s"))

        var spaced = CrashTracker(policy: policy)
        for index in 0..<20 {
            let decision = spaced.workerCrashed(ranFor: 0, now: UInt64(index) * 15 * second, using: &random)
            guard case .restart = decision else {
                Issue.record("crash \(index) at 15 s spacing failed the slot: \(decision)")
                return
            }
        }
        spaced.reset()
        #expect(spaced.consecutive == 0 && spaced.recent.isEmpty)
    }
}
