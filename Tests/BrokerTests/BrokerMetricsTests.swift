import BatonProtocol
import Testing

@testable import Broker

@Suite("Outcomes and latencies counted by the pure broker core")
struct BrokerMetricsTests {
    @Test("a reply counts as replied, with its queue wait and its duration in the histograms")
    func replyIsMeasured() {
        var broker = CoreHarness()
        broker.request(from: "c", "r1")
        broker.now += .milliseconds(3)  // 3 ms in the queue
        broker.ready("W")
        broker.now += .milliseconds(40)  // 40 ms with the worker
        broker.answer("W")
        let metrics = broker.core.metrics
        #expect(metrics.replied == 1)
        #expect(metrics.queueWait.count == 1)
        #expect(metrics.queueWait.sum == 3_000_000)
        #expect(metrics.requestDuration.count == 1)
        #expect(metrics.requestDuration.sum == 43_000_000)
        #expect(metrics.errors.values.allSatisfy { $0 == 0 })
        #expect(Set(metrics.errors.keys) == Set(BatonErrorCode.allCases))
    }

    @Test("an error reply counts under its code and in the duration histogram")
    func errorsCountByCode() {
        var broker = CoreHarness { $0.queueTimeout = .milliseconds(100) }
        broker.request(from: "c", "r1")
        broker.request(from: "c", "r2")
        broker.advance(milliseconds: 150)
        var out: [BrokerAction] = []
        broker.core.beginShutdown(now: broker.now, into: &out)
        #expect(broker.core.metrics.errors[.expired] == 2)
        #expect(broker.core.metrics.requestDuration.count == 2)
        #expect(broker.core.metrics.queueWait.count == 0, "never dispatched")
    }

    @Test("a retried request's queue wait is counted once, at its first dispatch")
    func retryCountsQueueWaitOnce() {
        var broker = CoreHarness { $0.retryOnCrash = 1 }
        broker.ready("A")
        broker.request(from: "c", "r1")
        broker.now += .milliseconds(5)
        var out: [BrokerAction] = []
        broker.core.workerProcessEnded(bytes("A"), reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: broker.now, into: &out)
        broker.ready("B")
        broker.answer("B")
        #expect(broker.core.metrics.queueWait.count == 1)
        #expect(broker.core.metrics.replied == 1)
        #expect(broker.core.stats.retried == 1)
    }

    @Test("the shutdown answers to queued requests count as shutting-down")
    func shutdownAnswersAreCounted() {
        var broker = CoreHarness()
        broker.request(from: "c", "r1")
        var out: [BrokerAction] = []
        broker.core.beginShutdown(now: broker.now, into: &out)
        #expect(broker.core.metrics.errors[.shuttingDown] == 1)
    }
}
