import BatonProtocol
import BatonWorker
import Foundation
import Synchronization
import Testing

@Suite("BatonWorker runs async handlers without blocking its socket, against a ROUTER standing in for the broker",
       .serialized, .timeLimit(.minutes(3)))
struct WorkerAsyncTests {
    @Test("capacity 8 async handlers wait at once, heartbeats go on, and each reply goes out as its handler ends")
    func eightAsyncHandlersAtOnce() async throws {
        try await onOwnThread {
            let peer = try RouterPeer()
            let gate = AsyncGate()
            var options = WorkerOptions()
            options.capacity = 8
            options.heartbeatIntervalMilliseconds = 20
            let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), options: options,
                                        logger: .quiet)
            let worker = WorkerThread(heartbeats: true) {
                try runtime.run { (body: [[UInt8]]) async throws -> WorkerReply in
                    let name = String(decoding: body[0], as: UTF8.self)
                    await gate.pass(name)
                    return .reply(frames("done \(name)"))
                }
            }
            #expect(try peer.next() == [[0x01]] + frames("8"))
            for number in 1...8 { try peer.send([token(number), []] + frames("r\(number)")) }
            #expect(gate.awaitArrivals(8), "all 8 handlers are inside at once")
            #expect(try peer.awaitHeartbeats(3), "the socket's thread heartbeats while all 8 wait")
            for number in (1...8).reversed() {
                gate.open("r\(number)")
                #expect(try peer.next() == [token(number), []] + frames("done r\(number)"))
            }
            runtime.stop()
            #expect(try peer.next() == [WireProtocol.disconnectByte])
            #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
        }
    }

    @Test("an async handler that throws fails its own request only: handler-error, then the next one is served")
    func asyncHandlerThrows() async throws {
        try await onOwnThread {
            let peer = try RouterPeer()
            struct Refused: Error {}
            let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint),
                                        logger: .quiet)
            let worker = WorkerThread(heartbeats: true) {
                try runtime.run(sessions: nil) { (request: WorkerRequest) async throws -> WorkerReply in
                    try await Task.sleep(for: .milliseconds(1))
                    if request.body == frames("boom") { throw Refused() }
                    return .reply(request.body)
                }
            }
            #expect(try peer.next() == [[0x01]])
            try peer.send([token(1), []] + frames("boom"))
            #expect(try peer.next() == [token(1), []] + frames("BATON-ERR", "handler-error",
                                                                "the request's handler failed"))
            try peer.send([token(2), []] + frames("fine"))
            #expect(try peer.next() == [token(2), []] + frames("fine"))
            runtime.stop()
            #expect(try peer.next() == [WireProtocol.disconnectByte])
            #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
        }
    }

    @Test("serve runs the worker from async code; cancelling its task answers the held request, then DISCONNECT")
    func serveAndCancel() async throws {
        let gate = AsyncGate()
        try await onOwnThread {
            let peer = try RouterPeer()
            var options = WorkerOptions()
            options.heartbeatIntervalMilliseconds = 50
            let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), options: options,
                                        logger: .quiet)
            let serving = Task {
                try await runtime.serve { request in
                    await gate.pass("held")
                    return .reply(request.body)
                }
            }
            #expect(try peer.next() == [[0x01]])
            try peer.send([token(1), []] + frames("held"))
            #expect(gate.awaitArrivals(1))
            serving.cancel()
            #expect(try peer.awaitHeartbeats(2), "still holding the request: no reply, no DISCONNECT yet")
            gate.open("held")
            #expect(try peer.next() == [token(1), []] + frames("held"))
            #expect(try peer.next() == [WireProtocol.disconnectByte])
            let ended = Mutex<Result<WorkerExit, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task {
                let result = await serving.result
                ended.withLock { $0 = result }
                done.signal()
            }
            #expect(done.wait(timeout: .now() + 10) == .success, "serve returns")
            #expect(ended.withLock { $0.flatMap { try? $0.get() } } == .stopped)
        }
    }
}
