import BatonProtocol
import CBatonSys
import Foundation
import Logging
import ZeroMQ

/// The worker side of Baton's protocol: connect, announce READY, serve requests one at a time, heartbeat,
/// and stop cleanly.
///
/// The socket lives on the thread that calls ``run(_:)``; handlers run on a second thread, so heartbeats go
/// on while a request is being served. On SIGTERM or SIGINT the worker finishes the request it holds (up to
/// ``WorkerOptions/drainTimeoutMilliseconds``), answers it, says DISCONNECT, and returns. A managed worker also
/// returns when the broker has been silent for its liveness window: its supervisor is gone.
public final class WorkerRuntime {
    /// The contract this worker runs under.
    public let environment: WorkerEnvironment
    /// Protocol options.
    public let options: WorkerOptions
    /// Whether SIGTERM is ignored (a test fixture for workers that do not stop).
    public var ignoreSigterm = false
    private let logger: Logger

    /// Creates a runtime; nothing connects until ``run(_:)``.
    public init(environment: WorkerEnvironment, options: WorkerOptions = WorkerOptions(), logger: Logger) {
        self.environment = environment
        self.options = options
        self.logger = logger
    }

    /// Serves requests with `handler` until a termination signal, broker loss, or a stop reply.
    public func run(_ handler: @escaping @Sendable ([[UInt8]]) -> WorkerReply) throws -> WorkerExit {
        let wake = baton_eventfd()
        guard wake >= 0 else { throw WorkerError("eventfd failed (errno \(errno))") }
        defer { close(wake) }
        guard baton_install_termination_handler(wake, ignoreSigterm ? 1 : 0) == 0 else {
            throw WorkerError("cannot install signal handlers (errno \(errno))")
        }
        let handlers = HandlerThread(handler: handler, done: { _ = baton_eventfd_signal(wake) })
        defer { handlers.close() }

        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        if let id = environment.workerID { try socket.setRoutingID(id) }
        try socket.connect(environment.backend)
        let framing: [[UInt8]] = options.heartbeats ? [] : [[]]
        try socket.send(frames: framing + [options.heartbeats ? WireProtocol.readyByte : WireProtocol.readyText])
        logger.info("worker ready", metadata: ["backend": "\(environment.backend)",
                                               "heartbeats": "\(options.heartbeats)"])

        var poller = Poller()
        let socketItem = poller.add(socket)
        let wakeItem = poller.add(fileDescriptor: wake)
        let interval = UInt64(options.heartbeatIntervalMilliseconds) * 1_000_000
        let liveness = interval * UInt64(max(options.heartbeatLiveness, 1))
        var lastHeard = baton_monotonic_ns()
        var nextHeartbeat = lastHeard + interval
        var busy = false
        var stopping: (signal: Int32, deadline: UInt64)?
        var stopAfterReply = false
        var frames: [[UInt8]] = []

        while true {
            let now = baton_monotonic_ns()
            if let stop = stopping, !busy || now >= stop.deadline {
                if busy { logger.warning("stopping with a request unanswered: drain timeout") }
                sayDisconnect(socket, framing: framing)
                return .terminated(signal: stop.signal)
            }
            if stopAfterReply && !busy {
                sayDisconnect(socket, framing: framing)
                return .stopRequested
            }
            if options.heartbeats {
                if now >= nextHeartbeat {
                    try socket.send(frame: WireProtocol.heartbeatByte)
                    nextHeartbeat = now + interval
                }
                if environment.isManaged && now &- lastHeard > liveness {
                    logger.error("broker silent for \(liveness / 1_000_000) ms: exiting")
                    return .brokerLost
                }
            }
            let timeout = options.heartbeats ? Int((nextHeartbeat &- now) / 1_000_000) + 1 : 1_000
            try poller.poll(timeoutMilliseconds: max(timeout, 0))
            if poller.isReady(socketItem) {
                while try socket.receive(into: &frames, dontWait: true) {
                    lastHeard = baton_monotonic_ns()
                    let payload = options.heartbeats ? frames[...] : frames.dropFirst()
                    if payload.count == 1 && payload.first == WireProtocol.heartbeatByte { continue }
                    guard payload.count >= 3, payload[payload.startIndex + 1].isEmpty, !busy, stopping == nil else {
                        logger.warning("unexpected message from the broker", metadata: ["frames": "\(frames.count)"])
                        continue
                    }
                    busy = true
                    handlers.submit(token: payload[payload.startIndex],
                                    body: Array(payload[(payload.startIndex + 2)...]))
                }
            }
            if poller.isReady(wakeItem) {
                _ = baton_eventfd_drain(wake)
                let signal = baton_termination_signal()
                if signal != 0 && stopping == nil {
                    logger.info("stopping on signal \(signal)", metadata: ["busy": "\(busy)"])
                    stopping = (signal, baton_monotonic_ns() + UInt64(options.drainTimeoutMilliseconds) * 1_000_000)
                }
                if let result = handlers.takeResult() {
                    let body: [[UInt8]]
                    switch result.reply {
                    case .reply(let frames): body = frames
                    case .replyAndStop(let frames):
                        body = frames
                        stopAfterReply = true
                    }
                    try socket.send(frames: framing + [result.token, WireProtocol.delimiter] + (body.isEmpty ? [[]] : body))
                    busy = false
                }
            }
        }
    }

    /// Tells the broker this worker is leaving (DISCONNECT), so it is removed at once rather than when its
    /// process ends or its heartbeats stop; the socket lingers briefly so the message goes out before it closes.
    private func sayDisconnect(_ socket: Socket, framing: [[UInt8]]) {
        socket.linger = 500
        _ = try? socket.send(frames: framing + [WireProtocol.disconnectByte], dontWait: true)
    }
}
