import BatonProtocol
import CBatonSys
import Foundation
import Logging
import ZeroMQ

/// The worker side of Baton's protocol: connect, announce READY, serve requests, heartbeat, and stop cleanly.
///
/// The socket lives on the thread that calls ``run(sessions:_:)`` (or on a
/// thread of its own with ``serve(sessions:_:)``). Plain handlers run on a pool of up to
/// ``WorkerOptions/capacity`` threads; `async` handlers run as tasks on Swift's concurrency pool. Either way
/// heartbeats go on while every one of them is busy, and replies go out in the order they are ready, each with
/// its request's token.
///
/// The worker stops when ``stop()`` is called, or when a signal of ``WorkerOptions/stopSignals`` arrives (none
/// in `WorkerOptions()`; SIGTERM and SIGINT in `WorkerOptions(environment:)`): it takes no new requests, finishes the
/// ones it holds (up to ``WorkerOptions/drainTimeoutMilliseconds``), answers them, says DISCONNECT, and
/// returns. A managed worker also returns when the broker has been silent for its liveness window: its
/// supervisor is gone.
public final class WorkerRuntime: Sendable {
    /// The contract this worker runs under.
    public let environment: WorkerEnvironment
    /// Protocol options.
    public let options: WorkerOptions
    private let logger: Logger
    private let stopRequest = StopRequest()

    /// Creates a runtime; nothing connects until it runs.
    public init(environment: WorkerEnvironment, options: WorkerOptions = WorkerOptions(), logger: Logger) {
        self.environment = environment
        self.options = options
        self.logger = logger
    }

    /// Serves requests with `handler`, which gets each request's body frames as the broker sent them (a
    /// session request's marker and key included), until a stop, broker loss, or a stop reply.
    ///
    /// A handler that throws fails its own request only: it is answered `["BATON-ERR"]["handler-error"][text]`
    /// and the worker keeps serving (see ``WorkerOptions/maxHandlerErrors``, ``WorkerOptions/revealHandlerErrors``).
    public func run(_ handler: @escaping @Sendable ([[UInt8]]) throws -> WorkerReply) throws -> WorkerExit {
        try serveHere(sessions: nil, .blocking { request in try handler(request.frames) })
    }

    /// Serves requests with an `async` `handler`, as the plain form does.
    public func run(_ handler: @escaping @Sendable ([[UInt8]]) async throws -> WorkerReply) throws -> WorkerExit {
        try serveHere(sessions: nil, .async { request in try await handler(request.frames) })
    }

    /// Serves requests with `handler`, and sessions with `sessions`, until a stop, broker loss, or a stop reply.
    ///
    /// `handler` gets each request with its session key, if any; it may run on up to
    /// ``WorkerOptions/capacity`` threads at once. `sessions` is called when the broker ends, exports or
    /// imports a session; with its export and import hooks the worker declares the `handoff` capability. A
    /// handler that throws fails its own request only: it is answered `handler-error`.
    public func run(sessions: SessionHooks? = nil,
                    _ handler: @escaping @Sendable (WorkerRequest) throws -> WorkerReply) throws -> WorkerExit {
        try serveHere(sessions: sessions, .blocking(handler))
    }

    /// Serves requests with an `async` `handler`, and sessions with `sessions`, on the calling thread.
    ///
    /// Each request's handler runs as a task on Swift's concurrency pool, so up to ``WorkerOptions/capacity``
    /// requests can wait (on I/O, a timer, another service) at once without a thread each; the socket's thread
    /// never waits for them. The session hooks still run on handler threads. Otherwise as the plain form.
    public func run(sessions: SessionHooks? = nil,
                    _ handler: @escaping @Sendable (WorkerRequest) async throws -> WorkerReply) throws -> WorkerExit {
        try serveHere(sessions: sessions, .async(handler))
    }

    /// Serves as ``run(sessions:_:)`` does with an `async` handler, from async code: the socket
    /// gets a thread of its own, and the calling task waits for the worker to stop without holding a thread.
    /// Cancelling the task stops the worker as ``stop()`` does (the requests held are answered first).
    public func serve(sessions: SessionHooks? = nil,
                      _ handler: @escaping @Sendable (WorkerRequest) async throws -> WorkerReply) async throws
        -> WorkerExit {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread { [self] in
                    continuation.resume(with: Result { try serveHere(sessions: sessions, .async(handler)) })
                }
                thread.name = "baton-worker"
                thread.start()
            }
        } onCancel: {
            stop()
        }
    }

    /// Stops the worker, from any thread: it takes no new request, answers the ones it holds (within
    /// ``WorkerOptions/drainTimeoutMilliseconds``), says DISCONNECT, and `run` returns ``WorkerExit/stopped``.
    /// Called while the worker is not running, it makes the next `run` stop as soon as it has started.
    public func stop() {
        stopRequest.request()
    }

    /// Connects, says READY and serves on the calling thread until the worker stops.
    private func serveHere(sessions: SessionHooks?, _ handler: RequestHandler) throws -> WorkerExit {
        guard (1...WireProtocol.maxCapacity).contains(options.capacity) else {
            throw WorkerError("capacity \(options.capacity) is outside 1…\(WireProtocol.maxCapacity)")
        }
        if let most = options.maxHandlerErrors, most < 1 {
            throw WorkerError("maxHandlerErrors must be at least 1 (or nil: never leave), not \(most)")
        }
        guard options.heartbeats || options.capacity == 1 else {
            throw WorkerError("a capacity above 1 needs heartbeats (the REQ-style protocol serves one request at a time)")
        }
        let wake = baton_eventfd()
        guard wake >= 0 else { throw WorkerError("eventfd failed (errno \(errno))") }
        defer { close(wake) }
        if !options.stopSignals.isEmpty {
            let signals = options.stopSignals
            guard baton_install_stop_handlers(wake, signals.contains(.terminate) ? 1 : 0,
                                              signals.contains(.interrupt) ? 1 : 0) == 0 else {
                throw WorkerError("cannot install signal handlers (errno \(errno))")
            }
        }
        defer { if !options.stopSignals.isEmpty { baton_restore_stop_handlers() } }
        stopRequest.attach(wake)
        defer { stopRequest.detach() }
        let pool = HandlerPool<HandlerOutcome>(limit: options.capacity, name: "baton-handler") {
            _ = baton_eventfd_signal(wake)
        }
        defer { pool.close() }

        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        if let id = environment.workerID { try socket.setRoutingID(id) }
        if let curve = environment.curve { try socket.useCurveClient(curve) }
        try socket.connect(environment.backend)
        let handoff = options.heartbeats && sessions?.canHandOff == true
        let loop = ServeLoop(socket: socket, pool: pool, handler: handler, stopRequest: stopRequest,
                             sessions: sessions, environment: environment, options: options, logger: logger)
        try loop.send(WorkerWire.ready(capacity: options.capacity, handoff: handoff, heartbeats: options.heartbeats))
        logger.info("worker ready", metadata: ["backend": "\(environment.backend)",
                                               "heartbeats": "\(options.heartbeats)",
                                               "capacity": "\(options.capacity)", "handoff": "\(handoff)"])
        return try loop.run(wake: wake)
    }
}
