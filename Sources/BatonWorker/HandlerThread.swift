import Foundation
import Synchronization

/// Runs request handlers on their own thread, so the socket thread keeps heartbeating while one runs.
final class HandlerThread: Sendable {
    typealias Handler = @Sendable ([[UInt8]]) -> WorkerReply

    private struct State: ~Copyable {
        var request: (token: [UInt8], body: [[UInt8]])?
        var result: (token: [UInt8], reply: WorkerReply)?
        var closed = false
    }

    private let state = Mutex(State())
    private let work = DispatchSemaphore(value: 0)
    private let done: @Sendable () -> Void

    /// `done` is called (on the handler thread) each time a result is ready.
    init(handler: @escaping Handler, done: @escaping @Sendable () -> Void) {
        self.done = done
        let thread = Thread { [self] in
            while true {
                work.wait()
                guard let request = state.withLock({ state in
                    defer { state.request = nil }
                    return state.closed ? nil : state.request
                }) else { return }
                let reply = handler(request.body)
                state.withLock { $0.result = (request.token, reply) }
                self.done()
            }
        }
        thread.name = "baton-handler"
        thread.start()
    }

    func submit(token: [UInt8], body: [[UInt8]]) {
        state.withLock { $0.request = (token, body) }
        work.signal()
    }

    func takeResult() -> (token: [UInt8], reply: WorkerReply)? {
        state.withLock { state in
            defer { state.result = nil }
            return state.result
        }
    }

    func close() {
        state.withLock { $0.closed = true }
        work.signal()
    }
}

/// What a handler returns.
public enum WorkerReply: Sendable {
    /// Reply with these body frames.
    case reply([[UInt8]])
    /// Reply with these frames, then stop the worker.
    case replyAndStop([[UInt8]])
}
