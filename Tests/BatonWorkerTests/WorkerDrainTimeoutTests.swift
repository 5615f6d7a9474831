import BatonProtocol
import BatonWorker
import Foundation
import Synchronization
import Testing

@Suite("BatonWorker's drain timeout holds against handlers that never return", .serialized, .timeLimit(.minutes(3)))
struct WorkerDrainTimeoutTests {
    @Test("""
        stop() with 8 async handlers that never return (and ignore cancellation): DISCONNECT at the drain timeout, \
        and run returns
        """)
    func stuckAsyncHandlersDoNotHoldStop() async throws {
        try await onOwnThread {
            let peer = try RouterPeer()
            var options = WorkerOptions()
            options.capacity = 8
            options.drainTimeoutMilliseconds = 300
            let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), options: options,
                                        logger: .quiet)
            let arrived = Arrivals()
            let worker = WorkerThread(heartbeats: true) {
                try runtime.run { (body: [[UInt8]]) async throws -> WorkerReply in
                    arrived.count.add(1, ordering: .relaxed)
                    // Past the test's end, not before: the tasks do not outlive it.
                    while !arrived.released.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(20)) }
                    return .reply(frames("too late"))
                }
            }
            #expect(try peer.next() == [[0x01]] + frames("8"))
            for number in 1...8 { try peer.send([token(number), []] + frames("r\(number)")) }
            // The handlers are tasks on the concurrency pool, which the suites beside this one may keep busy.
            let deadline = ContinuousClock.now + .seconds(60)
            while arrived.count.load(ordering: .relaxed) < 8 && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            #expect(arrived.count.load(ordering: .relaxed) == 8, "all 8 handlers are inside")
            let stopped = ContinuousClock.now
            runtime.stop()
            #expect(try peer.next() == [WireProtocol.disconnectByte])
            #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
            let took = ContinuousClock.now - stopped
            arrived.released.store(true, ordering: .relaxed)
            #expect(took >= .milliseconds(300) && took < .seconds(8), "stopped after \(took)")
        }
    }
}

/// How many handlers have started, and whether they may end.
private final class Arrivals: Sendable {
    let count = Atomic<Int>(0)
    let released = Atomic<Bool>(false)
}
