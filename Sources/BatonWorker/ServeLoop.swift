import BatonProtocol
import CBatonSys
import Logging
import ZeroMQ

/// What a handler thread (or an async handler's task) hands back to the socket thread.
enum HandlerOutcome: Sendable {
    case replied(token: [UInt8], reply: WorkerReply, session: [UInt8]?)
    /// The handler threw; `description` is the error's.
    case failed(token: [UInt8], description: String)
    case exported(key: [UInt8], Result<[UInt8], WorkerError>)
    case imported(key: [UInt8], Result<Void, WorkerError>)
    case ended(key: [UInt8])

    /// The outcome of the request `token` of `session`, whose handler returned or threw.
    init(token: [UInt8], session: [UInt8]?, _ result: Result<WorkerReply, any Error>) {
        switch result {
        case .success(let reply): self = .replied(token: token, reply: reply, session: session)
        case .failure(let error): self = .failed(token: token, description: "\(error)")
        }
    }
}

/// One run of ``WorkerRuntime``: the socket thread's loop and what it holds. Only that thread touches it.
final class ServeLoop {
    private let socket: Socket
    private let pool: HandlerPool<HandlerOutcome>
    private let handler: RequestHandler
    private let stopRequest: StopRequest
    private let sessions: SessionHooks?
    private let environment: WorkerEnvironment
    private let options: WorkerOptions
    private let logger: Logger
    /// `[""]` in front of every message for the REQ-style protocol, nothing for DEALER framing.
    private let framing: [[UInt8]]

    /// The requests handed to the pool and not answered yet: token → session key.
    private var held: [[UInt8]: [UInt8]?] = [:]
    /// Session hooks handed to the pool that have not finished.
    private var hooksRunning = 0
    private var stopping: (exit: WorkerExit, deadline: Instant)?
    /// Handler errors since the last request served well.
    private var errorsInRow = 0
    /// Once the worker has said RETURN: until when it waits for the broker's answer before it leaves anyway.
    private var leaving: Instant?
    /// Whether the broker answered RETURN: every request it sent here has arrived.
    private var returnAnswered = false
    private var unexpected = RateLimiter(burst: 20, window: .seconds(10))
    private var handlerErrorLog = RateLimiter(burst: 20, window: .seconds(10))

    init(socket: Socket, pool: HandlerPool<HandlerOutcome>, handler: RequestHandler, stopRequest: StopRequest,
         sessions: SessionHooks?, environment: WorkerEnvironment, options: WorkerOptions, logger: Logger) {
        self.socket = socket
        self.pool = pool
        self.handler = handler
        self.stopRequest = stopRequest
        self.sessions = sessions
        self.environment = environment
        self.options = options
        self.logger = logger
        framing = options.heartbeats ? [] : [[]]
    }

    /// Sends `frames` with this protocol's framing.
    func send(_ frames: [[UInt8]]) throws(ZMQError) {
        try socket.send(frames: framing + frames)
    }

    /// Serves until a stop (signal, ``WorkerRuntime/stop()`` or stop reply) has drained, or the broker is lost.
    func run(wake: Int32) throws -> WorkerExit {
        var poller = Poller()
        let socketItem = poller.add(socket)
        let wakeItem = poller.add(fileDescriptor: wake)
        let interval = options.heartbeatInterval
        let liveness = options.livenessWindow
        var lastHeard = Instant.now()
        var nextHeartbeat = lastHeard + interval
        var frames: [[UInt8]] = []
        checkStopRequests()

        while true {
            let now = Instant.now()
            if let stop = stopping, (held.isEmpty && hooksRunning == 0 && settled(now)) || now >= stop.deadline {
                if !held.isEmpty {
                    logger.warning("stopping with \(held.count) requests unanswered: drain timeout")
                }
                sayDisconnect()
                return stop.exit
            }
            var wakeAt = now + .seconds(1)
            if options.heartbeats {
                if now >= nextHeartbeat {
                    try send([WireProtocol.heartbeatByte])
                    nextHeartbeat = now + interval
                }
                if environment.isManaged && now.since(lastHeard) > liveness {
                    logger.error("broker silent for \(liveness): exiting")
                    return .brokerLost
                }
                wakeAt = nextHeartbeat
            }
            if let stop = stopping { wakeAt = min(wakeAt, stop.deadline) }
            if let leaving, !returnAnswered, leaving > now { wakeAt = min(wakeAt, leaving) }
            try poller.poll(timeoutMilliseconds: Int(wakeAt.since(now).milliseconds) + 1)
            if poller.isReady(socketItem) {
                while try socket.receive(into: &frames, dontWait: true) {
                    lastHeard = Instant.now()
                    let payload = options.heartbeats ? frames[...] : frames.dropFirst()
                    try handle(BrokerMessage(payload, sessionMessages: options.heartbeats))
                }
            }
            if poller.isReady(wakeItem) {
                _ = baton_eventfd_drain(wake)
                checkStopRequests()
                for outcome in pool.takeFinished() { try handle(outcome) }
            }
        }
    }

    /// Begins stopping if a stop signal arrived or ``WorkerRuntime/stop()`` was called.
    private func checkStopRequests() {
        guard stopping == nil else { return }
        let signal = options.stopSignals.isEmpty ? 0 : baton_termination_signal()
        if signal != 0 {
            logger.info("stopping on signal \(signal)", metadata: ["held": "\(held.count)"])
            beginStopping(.terminated(signal: signal))
        } else if stopRequest.isRequested {
            logger.info("stopping on request", metadata: ["held": "\(held.count)"])
            beginStopping(.stopped)
        }
    }

    private func beginStopping(_ exit: WorkerExit) {
        guard stopping == nil else { return }
        stopping = (exit, Instant.now() + options.drainTimeout)
    }

    private func handle(_ message: BrokerMessage) throws {
        switch message {
        case .heartbeat:
            break
        case .request(let token, let frames):
            if leaving != nil {  // sent before the broker read this worker's RETURN: give it back too
                return try send(WorkerWire.returned(tokens: [token]))
            }
            guard stopping == nil else { return note("a request arrived while stopping: not taken") }
            guard held[token] == nil else { return note("a request repeats a token this worker holds: ignored") }
            let request = WorkerRequest(frames: frames)
            held[token] = .some(request.session)
            logger.debug("request taken", metadata: [
                "held": "\(held.count)", "session": "\(request.session.map { SessionKey(bytes: $0).display } ?? "-")",
            ])
            switch handler {
            case .blocking(let handle):
                pool.submit(key: request.session, token: token, .blocking {
                    HandlerOutcome(token: token, session: request.session, Result { try handle(request) })
                })
            case .async(let handle):
                pool.submit(key: request.session, token: token, .async {
                    do {
                        return .replied(token: token, reply: try await handle(request), session: request.session)
                    } catch {
                        return HandlerOutcome(token: token, session: request.session, .failure(error))
                    }
                })
            }
        case .returned:
            returnAnswered = true
        case .end(let key):
            runEndHook(key)
        case .export(let key):
            guard let export = handoffHooks?.export else {
                return try send(WorkerWire.exportAnswer(key: key, .failure(WorkerError("this worker cannot hand off sessions"))))
            }
            hooksRunning += 1
            pool.submit(key: key) { .exported(key: key, Self.attempt { try export(key) }) }
        case .import(let key, let state):
            guard let importState = handoffHooks?.import, stopping == nil else {
                let why = stopping == nil ? "this worker cannot hand off sessions" : "this worker is stopping"
                return try send(WorkerWire.importAnswer(key: key, .failure(WorkerError(why))))
            }
            hooksRunning += 1
            pool.submit(key: key) { .imported(key: key, Self.attempt { try importState(key, state) }) }
        case .malformed(let what):
            note("unexpected message from the broker (\(what)): ignored")
        }
    }

    private func handle(_ outcome: HandlerOutcome) throws {
        switch outcome {
        case .failed(let token, let description):
            held[token] = nil
            try handlerFailed(token: token, description: description)
        case .replied(let token, let reply, let session):
            held[token] = nil
            errorsInRow = 0
            try send(WorkerWire.reply(token: token, body: reply.frames))
            switch reply {
            case .reply: break
            case .replyAndStop: beginStopping(.stopRequested)
            case .replyAndEndSession:
                guard let session else { break }
                if options.heartbeats { try send(WorkerWire.end(key: session)) }
                runEndHook(session)
            }
        case .exported(let key, let result):
            hooksRunning -= 1
            try send(WorkerWire.exportAnswer(key: key, result))
        case .imported(let key, let result):
            hooksRunning -= 1
            try send(WorkerWire.importAnswer(key: key, result))
        case .ended:
            hooksRunning -= 1
        }
    }

    /// A request's handler threw: that request, and only it, is answered `handler-error`; after
    /// ``WorkerOptions/maxHandlerErrors`` in a row the worker leaves.
    private func handlerFailed(token: [UInt8], description: String) throws {
        errorsInRow += 1
        let (allowed, suppressed) = handlerErrorLog.allow(now: Instant.now())
        if suppressed > 0 { logger.error("\(suppressed) more handler errors were not logged") }
        if allowed { logger.error("handler failed; the request is answered handler-error", metadata: ["error": "\(description)"]) }
        let text = options.revealHandlerErrors ? description : Self.handlerErrorText
        try send(WorkerWire.handlerError(token: token, text: text))
        if let most = options.maxHandlerErrors, errorsInRow >= most, leaving == nil { try leave() }
    }

    /// The text of a `handler-error` reply unless ``WorkerOptions/revealHandlerErrors`` is set.
    static let handlerErrorText = "the request's handler failed"

    /// Too many handler errors in a row: take no new request, give back (RETURN) every request held and not
    /// started, answer the ones running, and leave once the broker has answered the RETURN (so no request it
    /// sent is still on its way) or the liveness window has passed (a broker that does not know RETURN).
    private func leave() throws {
        let now = Instant.now()
        stopping = (.handlerErrors(count: errorsInRow), stopping?.deadline ?? now + options.drainTimeout)
        let tokens = pool.withdrawUnstarted()
        for token in tokens { held[token] = nil }
        logger.warning("leaving after \(errorsInRow) handler errors in a row",
                       metadata: ["returned": "\(tokens.count)", "running": "\(held.count)"])
        guard options.heartbeats else { return }  // REQ framing cannot say RETURN (and holds one request)
        leaving = now + options.livenessWindow
        try send(WorkerWire.returned(tokens: tokens))
    }

    /// Whether nothing the broker sent can still be on its way: always, unless this worker said RETURN and the
    /// broker has not answered it yet (for at most the liveness window).
    private func settled(_ now: Instant) -> Bool {
        guard let leaving else { return true }
        return returnAnswered || now >= leaving
    }

    /// The hooks, if they can export and import.
    private var handoffHooks: SessionHooks? {
        sessions.flatMap { $0.canHandOff ? $0 : nil }
    }

    private func runEndHook(_ key: [UInt8]) {
        guard let end = sessions?.end else { return }
        hooksRunning += 1
        pool.submit(key: key) {
            end(key)
            return .ended(key: key)
        }
    }

    private static func attempt<T>(_ body: () throws -> T) -> Result<T, WorkerError> {
        do {
            return .success(try body())
        } catch let error as WorkerError {
            return .failure(error)
        } catch {
            return .failure(WorkerError("\(error)"))
        }
    }

    /// Logs something unexpected, at most 20 lines per 10 s.
    private func note(_ text: String) {
        let (allowed, suppressed) = unexpected.allow(now: Instant.now())
        if suppressed > 0 { logger.warning("\(suppressed) more unexpected messages were not logged") }
        if allowed { logger.warning("\(text)") }
    }

    /// Tells the broker this worker is leaving (DISCONNECT), so it is removed at once rather than when its
    /// process ends or its heartbeats stop; the socket lingers briefly so the message goes out before it closes.
    private func sayDisconnect() {
        socket.linger = 500
        _ = try? socket.send(frames: framing + [WireProtocol.disconnectByte], dontWait: true)
    }
}
