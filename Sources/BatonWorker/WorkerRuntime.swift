import BatonProtocol
import CBatonSys
import Foundation
import Logging
import ZeroMQ

/// The worker side of Baton's protocol: connect, announce READY, serve requests, heartbeat, and stop cleanly.
///
/// The socket lives on the thread that calls ``run(sessions:_:)``; handlers run on a pool of up to
/// ``WorkerOptions/capacity`` threads, so heartbeats go on while every one of them is busy, and replies go
/// out in the order they are ready, each with its request's token. On SIGTERM or SIGINT the worker takes no
/// new requests, finishes the ones it holds (up to ``WorkerOptions/drainTimeoutMilliseconds``), answers
/// them, says DISCONNECT, and returns. A managed worker also returns when the broker has been silent for its
/// liveness window: its supervisor is gone.
public final class WorkerRuntime {
    /// The contract this worker runs under.
    public let environment: WorkerEnvironment
    /// Protocol options.
    public let options: WorkerOptions
    /// Whether SIGTERM is ignored (a test fixture for workers that do not stop).
    public var ignoreSigterm = false
    private let logger: Logger

    /// Creates a runtime; nothing connects until ``run(sessions:_:)``.
    public init(environment: WorkerEnvironment, options: WorkerOptions = WorkerOptions(), logger: Logger) {
        self.environment = environment
        self.options = options
        self.logger = logger
    }

    /// Serves requests with `handler`, which gets each request's body frames as the broker sent them (a
    /// session request's marker and key included), until a termination signal, broker loss, or a stop reply.
    ///
    /// A handler that throws fails its own request only: it is answered `["BATON-ERR"]["handler-error"][text]`
    /// and the worker keeps serving (see ``WorkerOptions/maxHandlerErrors``, ``WorkerOptions/revealHandlerErrors``).
    public func run(_ handler: @escaping @Sendable ([[UInt8]]) throws -> WorkerReply) throws -> WorkerExit {
        try run(sessions: nil) { request in try handler(request.frames) }
    }

    /// Serves requests with `handler`, and sessions with `sessions`, until a termination signal, broker loss,
    /// or a stop reply.
    ///
    /// `handler` gets each request with its session key, if any; it may run on up to
    /// ``WorkerOptions/capacity`` threads at once. `sessions` is called when the broker ends, exports or
    /// imports a session; with its export and import hooks the worker declares the `handoff` capability. A
    /// handler that throws fails its own request only, as in ``run(_:)``.
    public func run(sessions: SessionHooks? = nil,
                    _ handler: @escaping @Sendable (WorkerRequest) throws -> WorkerReply) throws -> WorkerExit {
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
        guard baton_install_termination_handler(wake, ignoreSigterm ? 1 : 0) == 0 else {
            throw WorkerError("cannot install signal handlers (errno \(errno))")
        }
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
        let loop = ServeLoop(socket: socket, pool: pool, handler: handler, sessions: sessions,
                             environment: environment, options: options, logger: logger)
        try loop.send(WorkerWire.ready(capacity: options.capacity, handoff: handoff, heartbeats: options.heartbeats))
        logger.info("worker ready", metadata: ["backend": "\(environment.backend)",
                                               "heartbeats": "\(options.heartbeats)",
                                               "capacity": "\(options.capacity)", "handoff": "\(handoff)"])
        return try loop.run(wake: wake)
    }
}
