import BatonProtocol
import Testing

@testable import Broker

@Suite("Message size summed over frames in the pure broker core")
struct BrokerCoreBoundsTests {
    @Test("three 1000-byte frames against a 1024-byte limit get too-large; no worker sees them")
    func requestOverLimitSummedOverFrames() {
        var broker = CoreHarness { $0.maxMessageBytes = 1024 }
        broker.ready("W")
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        broker.clientMessage([bytes("c"), [], chunk, chunk, chunk])
        #expect(broker.takeDispatches().isEmpty)
        let replies = broker.takeReplies()
        #expect(replies.count == 1)
        #expect(replies.first?.envelope == ["c"])
        #expect(replies.first?.body.prefix(2) == ["BATON-ERR", "too-large"])
        #expect(broker.core.stats.tooLarge == 1)
        #expect(broker.core.stats.errorReplies == 1)
        #expect(broker.core.stats.queueDepth == 0)
    }

    @Test("a request under the limit, envelope frames counted, is served")
    func requestUnderLimitIsServed() {
        var broker = CoreHarness { $0.maxMessageBytes = 1024 }
        broker.ready("W")
        broker.clientMessage([bytes("c"), bytes("tag"), [], [UInt8](repeating: 0x61, count: 1020)])
        #expect(broker.takeDispatches().map(\.worker) == ["W"])
        broker.answer("W")
        #expect(broker.takeReplies().first?.body.first?.count == 1020)
        #expect(broker.core.stats.tooLarge == 0)
        // 3 bytes of tag + 1022 of body: over the limit by one byte.
        broker.clientMessage([bytes("c"), bytes("tag"), [], [UInt8](repeating: 0x61, count: 1022)])
        #expect(broker.takeReplies().first?.body.prefix(2) == ["BATON-ERR", "too-large"])
    }

    @Test("a worker's reply over the limit reaches its client as too-large, and the worker serves on")
    func replyOverLimit() {
        var broker = CoreHarness { $0.maxMessageBytes = 100 }
        broker.ready("W")
        broker.request(from: "c", "small")
        _ = broker.takeDispatches()
        guard let token = broker.held("W").first.map({ $0.id.token }) else {
            Issue.record("the worker holds no request")
            return
        }
        let half = [UInt8](repeating: 0x62, count: 60)
        broker.workerMessage([bytes("W"), [], token, [], half, half])
        #expect(broker.takeReplies().first?.body.prefix(2) == ["BATON-ERR", "too-large"])
        #expect(broker.core.stats.tooLarge == 1)
        #expect(broker.core.stats.inFlight == 0)
        broker.request(from: "c", "next")
        #expect(broker.takeDispatches().map(\.worker) == ["W"])
    }

    @Test("with no limit set, size is not checked")
    func noLimit() {
        var broker = CoreHarness()
        broker.ready("W")
        broker.clientMessage([bytes("c"), [], [UInt8](repeating: 0, count: 100_000)])
        #expect(broker.takeDispatches().count == 1)
    }
}
