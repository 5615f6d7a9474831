import BatonProtocol
import Broker
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// History events a test broker hands over.
final class CollectingSink: HistorySink {
    private let events = Mutex<[HistoryEvent]>([])

    func submit(_ batch: inout [HistoryEvent]) {
        let taken = batch
        batch.removeAll(keepingCapacity: true)
        events.withLock { $0 += taken }
    }

    /// Request ids whose answer was recorded as dropped.
    var droppedReplies: Set<RequestID> {
        Set(events.withLock { $0 }.compactMap { if case .requestReplyDropped(let id, _) = $0 { id } else { nil } })
    }
}

@Suite("Replies beyond a client's pipe: they wait for a reading client, a client that does not read loses them",
       .serialized, .timeLimit(.minutes(2)))
struct ReplyBacklogTests {
    @Test("300 requests expiring at once all reach a client that reads, though its pipe holds 10 replies")
    func burstReachesReadingClient() throws {
        let gate = Gate()
        let broker = try LiveBroker {
            $0.security.maxUnreadReplies = 10
            $0.policy.queueTimeout = .milliseconds(300)
        }
        defer { gate.open() }
        try broker.addWorker("W", answerWhen: { gate.isOpen })
        let client = try broker.client()
        defer { broker.close(client) }
        try client.setReceiveHighWaterMark(0)
        let count = 300
        for n in 0..<count { try client.send(frames: frames("", "r\(n)")) }
        try broker.waitUntil("the burst was read") { try broker.server.statsBlocking().requestsReceived == UInt64(count) }
        // The worker holds the first; the other 299 expire together and are answered in one burst.
        var answers: [String] = []
        while answers.count < count - 1, let message = try client.receive() {
            answers.append(texts(message).dropFirst().joined(separator: " "))
        }
        #expect(answers.count == count - 1)
        #expect(answers.allSatisfy { $0.hasPrefix("BATON-ERR expired") })
        let stats = try broker.server.statsBlocking()
        #expect(stats.unreadRepliesDropped == 0 && stats.repliesWaiting == 0, "\(stats)")
    }

    @Test("a client that does not read loses its waiting replies at the deadline, counted and recorded as dropped")
    func notReadingClientLosesReplies() throws {
        let sink = CollectingSink()
        let broker = try LiveBroker {
            $0.security.maxUnreadReplies = 10
            $0.security.notReadingDeadline = .milliseconds(300)
            $0.policy.recordHistory = true
            $0.history = sink
        }
        try broker.addWorker("W")
        let flooder = try broker.client()
        try flooder.setReceiveHighWaterMark(1)
        let body = [UInt8](repeating: 0x78, count: 64 << 10)
        for _ in 0..<200 { try flooder.send(frames: [[], body]) }
        try broker.waitUntil("every request was answered, and the replies that did not fit were dropped") {
            let stats = try broker.server.statsBlocking()
            return stats.repliesForwarded == 200 && stats.inFlight == 0 && stats.repliesWaiting == 0
                && stats.unreadRepliesDropped > 0
        }
        let stats = try broker.server.statsBlocking()
        #expect(stats.unreadRepliesDropped < 200)
        try broker.waitUntil("the drops are recorded") { sink.droppedReplies.count == Int(stats.unreadRepliesDropped) }
        let other = try broker.client()
        defer { broker.close(flooder, other) }
        try other.send(frames: frames("", "still served"))
        #expect(texts(try other.receive()) == ["", "W:still served"])
    }

    @Test("replies waiting for a client count against --max-queued: the broker reads no more until they go out")
    func waitingRepliesShareTheQueueBound() throws {
        let broker = try LiveBroker {
            $0.security.maxUnreadReplies = 1
            $0.security.notReadingDeadline = .seconds(60)
            $0.policy.maxQueued = 20
        }
        try broker.addWorker("W")
        let flooder = try broker.client()
        try flooder.setReceiveHighWaterMark(1)
        // Large replies, so that the kernel's socket buffers fill too and the replies have to wait in the broker.
        let body = [UInt8](repeating: 0x78, count: 256 << 10)
        for _ in 0..<100 { try flooder.send(frames: [[], body]) }
        try broker.waitUntil("replies wait up to the bound") {
            let stats = try broker.server.statsBlocking()
            return stats.repliesWaiting + stats.queueDepth + stats.inFlight >= 20
        }
        // Nothing is read beyond the bound while the replies wait, and nothing is dropped.
        Thread.sleep(forTimeInterval: 0.3)  // a measurement window: the broker must not read more meanwhile
        var stats = try broker.server.statsBlocking()
        #expect(stats.repliesWaiting <= 21 && stats.requestsReceived < 100, "at most 20 plus the one in flight: \(stats)")
        #expect(stats.unreadRepliesDropped == 0)
        var answers = 0
        try flooder.setReceiveTimeout(milliseconds: 5_000)
        while answers < 100, try flooder.receive() != nil { answers += 1 }
        #expect(answers == 100)
        stats = try broker.server.statsBlocking()
        #expect(stats.unreadRepliesDropped == 0 && stats.repliesWaiting == 0, "\(stats)")
        broker.close(flooder)
    }
}
