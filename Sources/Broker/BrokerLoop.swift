import BatonProtocol
import CBatonSys
import Logging
import ServiceThread
import ZeroMQ

/// The body of the broker thread: binds the sockets, polls, feeds the ``BrokerCore`` and performs its actions.
/// Everything here runs on that one thread.
struct BrokerLoop {
    let server: BrokerServer
    var core: BrokerCore
    var actions: [BrokerAction] = []
    /// The batch of actions ``perform(frontend:backend:)`` is working through (its storage is reused).
    var performing: [BrokerAction] = []
    /// Dispatches that could not reach their worker (the request never left the broker), by worker.
    var undelivered: [(worker: WorkerID, request: RequestID)] = []
    /// Workers a heartbeat could not reach (a request they held was delivered, and is lost with them).
    var silentlyGoneWorkers: [WorkerID] = []
    /// History events since they were last handed to the recorder (once per loop iteration).
    var history: [HistoryEvent] = []
    var logLimiter = RateLimiter(burst: 20, window: .seconds(10))
    /// When a graceful shutdown began, its deadline, and who to tell when it is done.
    var draining: (deadline: Instant, done: [@Sendable () -> Void])?
    /// When the frontend was last read during a shutdown (it closes once quiet).
    var lastClientRead = Instant.zero
    var running = true
    /// Replies waiting for room in their clients' pipes.
    var replies: ReplyBacklog
    /// When waiting replies are next tried without the frontend reporting room (0: ask it for room now).
    var replyRetryAt = Instant.zero
    /// The current wait between such tries (``replyRetryMin`` to ``replyRetryMax``; 0 after progress).
    var replyRetryDelay = TimeSpan.zero
    /// When waiting replies are next looked at whatever the frontend reports (0: none wait).
    var replyCheckAt = Instant.zero
    /// The ZAP handler and connection counts (``BrokerLoop/secure(frontend:backend:)``), once the sockets exist.
    var guarded: BrokerGuard?
    /// Longest time a client request waits unread in ZeroMQ's queues while every worker is busy.
    static let frontendSweep = TimeSpan.milliseconds(10)

    init(server: BrokerServer) {
        self.server = server
        var policy = server.options.policy
        if policy.maxMessageBytes == nil, server.options.maxMessageSize > 0 {
            policy.maxMessageBytes = Int(server.options.maxMessageSize)
        }
        core = BrokerCore(configuration: policy, firstRequestID: server.options.firstRequestID)
        replies = ReplyBacklog(bound: policy.maxQueued, deadline: server.options.security.notReadingDeadline)
        actions.reserveCapacity(64)
        performing.reserveCapacity(64)
    }

    var logger: Logger { server.logger }

    mutating func run(started: (Result<BrokerServer.BoundEndpoints, BrokerError>) -> Void) {
        baton_set_thread_name("baton-broker")
        let frontend: Socket
        let backend: Socket
        do {
            (frontend, backend) = try bindSockets()
            started(.success(.init(frontend: try frontend.lastEndpoint(), backend: try backend.lastEndpoint())))
        } catch let error as BrokerError {
            finish()
            return started(.failure(error))
        } catch {
            finish()
            return started(.failure(BrokerError(.zeroMQ, "\(error)")))
        }
        let monitor = openMonitor(on: backend)
        defer {
            frontend.close()
            backend.close()
            monitor?.close()
            finish()
        }
        do {
            try serve(frontend: frontend, backend: backend, monitor: monitor)
        } catch {
            logger.critical("broker stopped on an error", metadata: ["error": "\(error)"])
        }
    }

    private mutating func bindSockets() throws -> (Socket, Socket) {
        let options = server.options
        let frontend = try Socket(server.context, .router)
        let backend = try Socket(server.context, .router)
        for socket in [frontend, backend] {
            socket.linger = 0
            try socket.setRouterMandatory(true)
            try socket.setMaxMessageSize(options.maxMessageSize)
            // The broker's own queue is the bounded one; ZeroMQ's pipes must not drop requests to workers.
            // The frontend's bound on unread replies is set by `secure`.
            try socket.setSendHighWaterMark(0)
        }
        guarded = try secure(frontend: frontend, backend: backend)
        do {
            try frontend.bind(options.frontend)
        } catch {
            throw BrokerError(.bind, "frontend \(options.frontend): \(error.message)", errno: error.code)
        }
        do {
            try backend.bind(options.backend)
        } catch {
            throw BrokerError(.bind, "backend \(options.backend): \(error.message)", errno: error.code)
        }
        return (frontend, backend)
    }

    private mutating func serve(frontend: Socket, backend: Socket, monitor: Socket?) throws {
        var poller = Poller()
        let backendItem = poller.add(backend)
        let wakeItem = poller.add(fileDescriptor: server.thread.wakeDescriptor)
        let monitorItem = monitor.map { poller.add($0) }
        let frontendItem = poller.add(frontend)  // last, so that polling one item fewer leaves it out
        var frames: [[UInt8]] = []
        let batch = max(server.options.batch, 1)
        var nextSweep = Instant.zero
        while running {
            // Clients wake the broker only while some worker has free capacity. While every worker is full,
            // requests wait in ZeroMQ's pipes (as in the zguide broker) and are read when a reply frees
            // capacity, and at least every sweep interval, so the broker's queue (depth, expiry, history) lags by at most the sweep.
            // Reading clients eagerly on every wake-up instead empties the pipes, and each request then costs
            // an extra cross-thread wake-up inside libzmq.
            let accepting = acceptsRequests
            let frontendPolled = draining != nil || (accepting && core.hasFreeCapacity)
            let before = Instant.now()
            let room = wantsRoom(now: before)
            if !replies.isEmpty {
                var events: PollEvents = frontendPolled ? .readable : []
                if room { events.insert(.writable) }
                poller.setEvents(frontendItem, events)
            }
            try poller.poll(timeoutMilliseconds: pollTimeout(now: before,
                                                            sweepAt: accepting && !frontendPolled ? nextSweep : nil),
                            limit: frontendPolled || room ? frontendItem + 1 : frontendItem)
            if !replies.isEmpty {
                poller.setEvents(frontendItem, .readable)
                let now = Instant.now()
                if poller.isReady(frontendItem, .writable) || now >= replyCheckAt
                    || (replyRetryAt != .zero && now >= replyRetryAt)
                {
                    try flushReplies(frontend, now: now)
                }
            }
            // Closed connections first, so a file descriptor is not confused with a new connection's.
            if let monitor, let monitorItem, poller.isReady(monitorItem) {
                try readMonitor(monitor, frontend: frontend, backend: backend)
            }
            if poller.isReady(backendItem) {
                for _ in 0..<batch {
                    guard try backend.receive(into: &frames, dontWait: true) else { break }
                    core.workerMessage(frames, now: Instant.now(),
                                       connection: monitor == nil ? nil : backend.lastFrameConnection, into: &actions)
                    try perform(frontend: frontend, backend: backend)
                }
            }
            // Read clients while a worker has free capacity to take the request (stop as soon as none has, and
            // leave the rest in the pipes), or everything waiting when the sweep is due (up to the queue bound).
            let sweepDue = Instant.now() >= nextSweep
            if poller.isReady(frontendItem) || core.hasFreeCapacity || sweepDue {
                var budget = sweepDue ? Int.max : batch
                while budget > 0 && acceptsRequests && (sweepDue || core.hasFreeCapacity) {
                    guard try frontend.receive(into: &frames, dontWait: true) else { break }
                    core.clientMessage(frames, now: Instant.now(), into: &actions)
                    try perform(frontend: frontend, backend: backend)
                    budget -= 1
                }
                if sweepDue { nextSweep = Instant.now() + Self.frontendSweep }
            }
            if draining != nil {
                try readWhileDraining(frontend: frontend, backend: backend, budget: batch, frames: &frames)
            }
            if poller.isReady(wakeItem) {
                for command in server.thread.takeCommands() { handle(command) }
                try perform(frontend: frontend, backend: backend)
            }
            let now = Instant.now()
            if let deadline = core.nextDeadline, now >= deadline {
                core.tick(now: now, into: &actions)
                try perform(frontend: frontend, backend: backend)
            }
            if let sink = server.options.history, !history.isEmpty { sink.submit(&history) }
            if draining != nil {
                try finishDrainIfDone(now: now, frontend: frontend, backend: backend, frames: &frames)
            }
        }
    }

    private func pollTimeout(now: Instant, sweepAt: Instant?) -> Int {
        var deadline = core.nextDeadline
        if let sweepAt { deadline = Instant.earliest(deadline, sweepAt) }
        if !replies.isEmpty {
            // While backing off, the retry time; while asking the frontend for room, the periodic check.
            deadline = Instant.earliest(deadline, replyRetryAt > now ? min(replyRetryAt, replyCheckAt) : replyCheckAt)
        }
        if let drain = draining {
            deadline = Instant.earliest(deadline, drain.deadline)
            if core.inFlightCount == 0 { deadline = Instant.earliest(deadline, lastClientRead + Self.shutdownQuiet) }
        }
        guard let deadline else { return -1 }
        guard deadline > now else { return 0 }
        return deadline.since(now).pollMilliseconds(atMost: 60_000)
    }

    private mutating func handle(_ command: BrokerServer.Command) {
        switch command {
        case .stats(let reply):
            reply(stats)
        case .workers(let reply):
            reply(core.workerSummaries)
        case .processStarted(let worker, let generation):
            core.workerProcessStarted(worker, generation: generation)
        case .preferSessions(let generation):
            core.preferSessions(onGeneration: generation)
        case .resume(let worker):
            core.resumeWorker(worker, now: Instant.now(), into: &actions)
        case .snapshot(let reply):
            reply(snapshot(running: true))
        case .status(let reply):
            reply(status(running: true))
        case .processEnded(let worker, let reason):
            core.workerProcessEnded(worker, reason: reason, now: Instant.now(), into: &actions)
        case .drain(let worker, let successor):
            core.drainWorker(worker, successor: successor, now: Instant.now(), into: &actions)
        case .shutdown(let drainTimeout, let done):
            if draining == nil {
                logger.info("broker shutting down", metadata: ["queued": "\(core.stats.queueDepth)",
                                                               "in_flight": "\(core.inFlightCount)"])
                core.beginShutdown(now: Instant.now(), into: &actions)
                draining = (Instant.now() + drainTimeout, [])
                lastClientRead = Instant.now()
            }
            draining?.done.append(done)
        case .stop:
            running = false
        }
    }

    /// Runs when the thread is about to end: answers commands that can no longer be served.
    private mutating func finish() {
        guarded?.stop()  // after the guarded sockets are closed (or were never bound), before the context ends
        if let sink = server.options.history, !history.isEmpty { sink.submit(&history) }
        let stats = core.stats
        if stats.requestsReceived > 0 || stats.workers > 0 {
            logger.info("broker stopped", metadata: [
                "requests": "\(stats.requestsReceived)", "replies": "\(stats.repliesForwarded)",
                "errors": "\(stats.errorReplies)", "malformed": "\(stats.malformedClientMessages + stats.malformedWorkerMessages)",
            ])
        }
        for command in server.thread.closeQueue() {
            switch command {
            case .stats(let reply): reply(self.stats)
            case .workers(let reply): reply([])
            case .snapshot(let reply): reply(snapshot(running: false))
            case .status(let reply): reply(status(running: false))
            case .shutdown(_, let done): done()
            case .stop, .processStarted, .processEnded, .drain, .preferSessions, .resume: break
            }
        }
        for done in draining?.done ?? [] { done() }
        draining?.done = []
    }
}
