import BatonProtocol
import BatonWorker
import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

/// A ROUTER socket on a loopback port standing in for the broker: a test sees exactly the frames a worker
/// sends, and sends it exactly the frames it wants. It talks to the first peer it hears from.
final class RouterPeer {
    /// Where the worker connects.
    let endpoint: String
    private let context: Context
    private let socket: Socket
    private var worker: [UInt8]?
    /// HEARTBEATs received so far.
    private(set) var heartbeats = 0

    init() throws {
        context = try Context()
        socket = try Socket(context, .router)
        socket.linger = 0
        try socket.setRouterMandatory(true)
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.bind("tcp://127.0.0.1:*")
        endpoint = try socket.lastEndpoint()
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// The worker's next message other than a HEARTBEAT (counted), without the routing id; nil after 10 s.
    func next() throws -> [[UInt8]]? {
        let deadline = ContinuousClock.now + .seconds(10)
        var frames: [[UInt8]] = []
        while ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames), frames.count >= 2 else { continue }
            worker = worker ?? frames[0]
            let message = Array(frames.dropFirst())
            if message == [WireProtocol.heartbeatByte] {
                heartbeats += 1
            } else {
                return message
            }
        }
        return nil
    }

    /// Receives until `count` more HEARTBEATs have come; false if any other message comes first, or 10 s pass.
    func awaitHeartbeats(_ count: Int) throws -> Bool {
        let target = heartbeats + count
        let deadline = ContinuousClock.now + .seconds(10)
        var frames: [[UInt8]] = []
        while heartbeats < target && ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames) else { continue }
            guard Array(frames.dropFirst()) == [WireProtocol.heartbeatByte] else { return false }
            heartbeats += 1
        }
        return heartbeats >= target
    }

    /// Sends `frames` to the worker (after its routing id).
    func send(_ frames: [[UInt8]]) throws {
        let worker = try #require(worker, "the worker has not said anything yet")
        try socket.send(frames: [worker] + frames)
    }
}

/// A ``WorkerRuntime`` connected to a ``RouterPeer``, serving on a thread of its own. A request whose body is
/// the single frame `stop` is answered `bye` and stops it.
final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<WorkerExit, WorkerError>?>(nil)
    private let heartbeats: Bool

    init(_ peer: RouterPeer, _ options: WorkerOptions, sessions: SessionHooks? = nil,
         _ handler: @escaping @Sendable (WorkerRequest) -> WorkerReply) {
        heartbeats = options.heartbeats
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        let environment = WorkerEnvironment(backend: peer.endpoint)
        Thread.detachNewThread { [self, logger] in
            let runtime = WorkerRuntime(environment: environment, options: options, logger: logger)
            let exit: Result<WorkerExit, WorkerError>
            do {
                exit = .success(try runtime.run(sessions: sessions) { request in
                    request.frames == [Array("stop".utf8)] ? .replyAndStop([Array("bye".utf8)]) : handler(request)
                })
            } catch {
                exit = .failure(WorkerError("\(error)"))
            }
            result.withLock { $0 = exit }
            done.signal()
        }
    }

    /// How `run` ended; nil if it is still running after 10 s.
    func exit() -> Result<WorkerExit, WorkerError>? {
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        done.signal()
        return result.withLock { $0 }
    }

    /// Sends `stop` and expects `bye`, then DISCONNECT and the end of `run`.
    func stop(_ peer: RouterPeer) throws {
        let framing: [[UInt8]] = heartbeats ? [] : [[]]
        let token = WireProtocol.token(for: 999)
        try peer.send(framing + [token, [], Array("stop".utf8)])
        #expect(try peer.next() == framing + [token, [], Array("bye".utf8)])
        #expect(try peer.next() == framing + [WireProtocol.disconnectByte])
        #expect(exit().flatMap { try? $0.get() } == .stopRequested)
    }
}

/// Frames from text.
func frames(_ texts: String...) -> [[UInt8]] {
    texts.map { Array($0.utf8) }
}

/// The token of request `number`.
func token(_ number: Int) -> [UInt8] {
    WireProtocol.token(for: UInt64(number))
}
