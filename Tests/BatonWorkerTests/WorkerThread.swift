import BatonProtocol
import BatonWorker
import Foundation
import Logging
import Synchronization
import Testing

/// A ``WorkerRuntime`` connected to a ``RouterPeer``, serving on a thread of its own. A request whose body is
/// the single frame `stop` is answered `bye` and stops it (with the plain-handler initializers).
final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<WorkerExit, WorkerError>?>(nil)
    private let heartbeats: Bool

    convenience init(_ peer: RouterPeer, _ options: WorkerOptions, sessions: SessionHooks? = nil,
                     _ handler: @escaping @Sendable (WorkerRequest) throws -> WorkerReply) {
        self.init(WorkerEnvironment(backend: peer.endpoint), options, sessions: sessions, handler)
    }

    /// A worker of `environment` (a real broker's backend, say).
    convenience init(_ environment: WorkerEnvironment, _ options: WorkerOptions, sessions: SessionHooks? = nil,
                     _ handler: @escaping @Sendable (WorkerRequest) throws -> WorkerReply) {
        let runtime = WorkerRuntime(environment: environment, options: options, logger: .quiet)
        self.init(heartbeats: options.heartbeats) {
            try runtime.run(sessions: sessions) { request in
                request.frames == [Array("stop".utf8)] ? .replyAndStop([Array("bye".utf8)]) : try handler(request)
            }
        }
    }

    /// Calls `run` (a runtime's `run`, say) on a thread of its own; `heartbeats`: whether the worker uses them.
    init(heartbeats: Bool, _ run: @escaping @Sendable () throws -> WorkerExit) {
        self.heartbeats = heartbeats
        Thread.detachNewThread { [self] in
            let exit: Result<WorkerExit, WorkerError>
            do {
                exit = .success(try run())
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

extension Logger {
    /// A logger that says nothing below critical, for workers under test.
    static var quiet: Logger {
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        return logger
    }
}
