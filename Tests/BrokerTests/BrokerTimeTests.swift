import BatonProtocol
import Testing

@testable import Broker

@Suite("The broker's time arithmetic")
struct BrokerTimeTests {
    @Test("a poll waits whole milliseconds rounded up, so it never wakes before its deadline, and at most the limit")
    func pollMilliseconds() {
        #expect(TimeSpan.zero.pollMilliseconds(atMost: 60_000) == 0)
        #expect(TimeSpan(nanoseconds: 1).pollMilliseconds(atMost: 60_000) == 1)
        #expect(TimeSpan.milliseconds(3).pollMilliseconds(atMost: 60_000) == 3)
        #expect((TimeSpan.milliseconds(3) + TimeSpan(nanoseconds: 1)).pollMilliseconds(atMost: 60_000) == 4)
        #expect(TimeSpan.seconds(3_600).pollMilliseconds(atMost: 60_000) == 60_000)
        #expect(TimeSpan(nanoseconds: .max).pollMilliseconds(atMost: 60_000) == 60_000)
    }

    @Test("the earliest deadline is the other one when there is none, else the earlier of the two")
    func earliest() {
        let early = Instant(nanoseconds: 5), late = Instant(nanoseconds: 9)
        #expect(Instant.earliest(nil, late) == late)
        #expect(Instant.earliest(early, late) == early)
        #expect(Instant.earliest(late, early) == early)
    }
}
