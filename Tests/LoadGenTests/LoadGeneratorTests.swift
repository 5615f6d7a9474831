import BatonProtocol
import Broker
import Foundation
import LoadGen
import Testing

@Suite("The load generator against a real broker and real workers", .serialized, .timeLimit(.minutes(2)))
struct LoadGeneratorTests {
    /// Runs the generator against `broker` with `clients` × `window` requests in flight.
    func run(_ broker: LoadTestBroker, clients: Int, window: Int = 1, total: Int? = nil,
             _ configure: (inout LoadOptions) -> Void = { _ in }) throws -> LoadReport {
        var options = LoadOptions(endpoint: broker.frontend)
        options.clients = clients
        options.window = window
        options.total = total
        configure(&options)
        return try LoadGenerator(options: options).run()
    }

    @Test("against echo workers every request is answered and matched: sent = matched, nothing lost or wrong")
    func echoWorkersByTotal() throws {
        let broker = try LoadTestBroker(workers: [{ $0 }, { $0 }, { $0 }])
        let report = try run(broker, clients: 4, window: 8, total: 2000) { $0.warmup = 0 }
        #expect(report.sent == 2000)
        #expect(report.matched == 2000)
        #expect(report.lost == 0 && report.mismatched == 0 && report.errors == [:])
        #expect(report.isClean)
        #expect(report.p50 <= report.p99 && report.p99 <= report.max && report.max > 0)
        #expect(try broker.server.statsBlocking().repliesForwarded == 2000)
    }

    @Test("a run by duration checks the warm-up's replies too and measures only after it")
    func echoWorkersByDuration() throws {
        let broker = try LoadTestBroker(workers: [{ $0 }, { $0 }])
        let report = try run(broker, clients: 2) {
            $0.duration = 0.3
            $0.warmup = 0.1
        }
        #expect(report.sent > 0)
        #expect(report.matched == report.sent)
        #expect(report.isClean)
        #expect(report.seconds > 0 && report.seconds <= 0.3)
        #expect(report.throughput > 0)
        #expect(try broker.server.statsBlocking().repliesForwarded == report.sent)
    }

    @Test("replies a worker corrupted (a changed byte, an extra frame) are counted mismatched, the rest matched")
    func corruptedRepliesAreMismatched() throws {
        let served = Counter()
        // Of every four requests the worker serves, it changes a byte of the first and adds a frame to the third.
        let broker = try LoadTestBroker(workers: [{ body in
            switch served.next() % 4 {
            case 1: [body[0].dropLast() + [body[0].last.map { $0 ^ 0xff } ?? 0]]
            case 3: body + [Array("extra".utf8)]
            default: body
            }
        }])
        let report = try run(broker, clients: 2, window: 2, total: 40)
        #expect(report.sent == 40)
        #expect(report.mismatched == 20)
        #expect(report.matched == 20)
        #expect(report.lost == 0 && report.errors == [:])
        #expect(!report.isClean)
    }

    @Test("BATON-ERR replies are counted as errors by code, not as matched or lost")
    func errorReplies() throws {
        let broker = try LoadTestBroker(workers: []) { $0.policy.queueTimeout = .milliseconds(50) }
        let report = try run(broker, clients: 3, window: 4, total: 12)
        #expect(report.sent == 12)
        #expect(report.errors == ["expired": 12])
        #expect(report.errorCount == 12)
        #expect(report.matched == 0 && report.mismatched == 0 && report.lost == 0)
        #expect(!report.isClean)
    }

    @Test("requests still unanswered when the drain timeout ends are counted lost")
    func unansweredRequestsAreLost() throws {
        let broker = try LoadTestBroker(workers: []) { $0.policy.queueTimeout = nil }
        let report = try run(broker, clients: 2, window: 3, total: 6) { $0.drainTimeout = 0.2 }
        #expect(report.sent == 6)
        #expect(report.lost == 6)
        #expect(report.matched == 0 && report.mismatched == 0 && report.errors == [:])
        #expect(!report.isClean)
        #expect(try broker.server.statsBlocking().queueDepth == 6, "the broker holds all six")
    }
}
