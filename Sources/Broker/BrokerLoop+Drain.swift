import BatonProtocol
import Logging
import ZeroMQ

extension BrokerLoop {
    /// How long the frontend must stay quiet, once in-flight requests are done, before a shutdown closes the
    /// sockets: requests still on their way through ZeroMQ's queues are read and answered `shutting-down`.
    static let shutdownQuiet = TimeSpan.milliseconds(100)
    /// Milliseconds a graceful close gives the last replies to reach their clients.
    static let closeLingerMilliseconds: Int32 = 2_000
    /// Most client messages read in one go while shutting down.
    static let shutdownReadBound = 100_000
    /// Where the backend's connection events are published (inproc: unique within the broker's context).
    static let monitorEndpoint = "inproc://baton-backend-monitor"

    /// Starts watching the backend's connections, so a busy worker whose connection closes (a reply above
    /// the maximum message size, a crash) is noticed at once; nil (logged) if the monitor cannot start.
    func openMonitor(on backend: Socket) -> Socket? {
        do {
            try backend.startMonitor(Self.monitorEndpoint, events: ConnectionGuard.monitoredEvents.union(.disconnected))
            let monitor = try Socket(server.context, .pair)
            monitor.linger = 0
            try monitor.connect(Self.monitorEndpoint)
            return monitor
        } catch {
            backend.stopMonitor()
            logger.warning("backend connection monitor unavailable; lost worker connections are noticed later",
                           metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Feeds the backend's closed connections to the core.
    mutating func readMonitor(_ monitor: Socket, frontend: Socket, backend: Socket) throws {
        var frames: [[UInt8]] = []
        while try monitor.receive(into: &frames, dontWait: true) {
            guard let event = SocketEvent(frames: frames) else { continue }
            guarded?.connections.backendEvent(event)
            guard event.kind == .disconnected else { continue }
            core.connectionClosed(event.value, now: Instant.now(), into: &actions)
            try perform(frontend: frontend, backend: backend)
        }
    }

    /// While shutting down: reads requests waiting in ZeroMQ's queues and answers each `shutting-down`.
    mutating func readWhileDraining(frontend: Socket, backend: Socket, budget: Int, frames: inout [[UInt8]])
        throws
    {
        var left = budget
        // Requests whose answers could not go out stay in ZeroMQ's queues (a client that reads gets its waiting
        // replies, and then these are read).
        while left > 0, replies.count < replies.bound, try frontend.receive(into: &frames, dontWait: true) {
            let now = Instant.now()
            core.clientMessage(frames, now: now, into: &actions)
            try perform(frontend: frontend, backend: backend)
            lastClientRead = now
            left -= 1
        }
    }

    /// Ends a graceful shutdown when it is done: in-flight requests answered (or, past the drain deadline,
    /// answered `worker-died`), replies waiting for room in their clients' pipes sent, and the frontend quiet for
    /// ``shutdownQuiet``. Every request read gets a reply before the sockets close, and the frontend lingers so
    /// that replies reach their clients.
    mutating func finishDrainIfDone(now: Instant, frontend: Socket, backend: Socket, frames: inout [[UInt8]])
        throws
    {
        guard let drain = draining else { return }
        let pastDeadline = now >= drain.deadline
        if core.inFlightCount > 0 {
            guard pastDeadline else { return }
            logger.warning("shutdown drain timed out; in-flight requests are answered worker-died",
                           metadata: ["in_flight": "\(core.inFlightCount)"])
            core.failInFlight(reason: "the broker shut down before the worker answered (drain timeout)", now: now,
                              into: &actions)
            try perform(frontend: frontend, backend: backend)
        }
        // Replies waiting for room in their clients' pipes go out first (a client that does not read loses
        // them at the not-reading deadline, or at the drain deadline).
        if replies.count > 0 && !pastDeadline { return }
        guard pastDeadline || now.since(lastClientRead) >= Self.shutdownQuiet else { return }
        try readWhileDraining(frontend: frontend, backend: backend, budget: Self.shutdownReadBound, frames: &frames)
        if replies.count > 0 {
            try flushReplies(frontend, now: Instant.now())
            guard pastDeadline else { return }  // answers to that last read: they go out first
            dropWaitingReplies()
        }
        frontend.linger = Self.closeLingerMilliseconds
        running = false
    }
}
