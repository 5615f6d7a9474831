import BatonProtocol
import Logging
import ZeroMQ

extension BrokerLoop {
    /// Performs the actions the core produced, then feeds back sends that failed because a worker is gone.
    mutating func perform(frontend: Socket, backend: Socket) throws {
        while !actions.isEmpty {
            // Each action is moved out of the batch (popLast), not copied and then destroyed with the batch.
            swap(&actions, &performing)
            performing.reverse()
            while let action = performing.popLast() {
                switch action {
                case .dispatch(let worker, let framing, let token, let body):
                    if try !sendToWorker(backend, worker, framing: framing, token: token, body: body),
                       let request = RequestID(token: token)
                    {
                        undelivered.append((worker, request))
                    }
                case .reply(let envelope, let body, let request):
                    try deliver(frontend, envelope: envelope, body: body, request: request)
                case .send(let worker, let frames):
                    _ = try sendCommand(backend, worker, frames)
                case .heartbeat(let worker):
                    if try !sendHeartbeat(backend, worker) { silentlyGoneWorkers.append(worker) }
                case .worker(let event):
                    workerEvent(event)
                case .record(let event):
                    history.append(event)
                case .log(let event):
                    log(event)
                }
            }
            guard !undelivered.isEmpty || !silentlyGoneWorkers.isEmpty else { return }
            let now = Instant.now()
            if !undelivered.isEmpty { returnUndelivered(now: now) }
            for worker in silentlyGoneWorkers {
                core.workerUnreachable(worker, undelivered: [], now: now, into: &actions)
            }
            silentlyGoneWorkers.removeAll(keepingCapacity: true)
        }
    }

    /// Tells the core which dispatches failed, all of one worker's at once: they go back to the queue, and
    /// the worker's other requests are lost with it.
    private mutating func returnUndelivered(now: Instant) {
        while let (worker, _) = undelivered.first {
            let requests = undelivered.filter { $0.worker == worker }.map(\.request)
            undelivered.removeAll { $0.worker == worker }
            core.workerUnreachable(worker, undelivered: requests, now: now, into: &actions)
        }
    }

    /// `[worker][""]?[token][""][body…]`; `false` if the worker is gone.
    private func sendToWorker(_ backend: Socket, _ worker: WorkerID, framing: WorkerFraming, token: [UInt8],
                              body: ArraySlice<[UInt8]>) throws -> Bool {
        guard try sendRoutingFrame(backend, worker) else { return false }
        if framing == .request { try backend.send(frame: WireProtocol.delimiter, more: true) }
        try backend.send(frame: token, more: true)
        try backend.send(frame: WireProtocol.delimiter, more: true)
        try Self.sendLast(backend, body)
        return true
    }

    /// `[envelope…][""][body…]`; whether it was sent, or the client is gone or its pipe is full.
    static func sendToClient(_ frontend: Socket, envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>)
        throws -> ClientRoute
    {
        guard let first = envelope.first else { return .gone }
        let route = try Self.routeToClient(frontend, first)
        guard route == .sent else { return route }
        for frame in envelope.dropFirst() { try frontend.send(frame: frame, more: true) }
        try frontend.send(frame: WireProtocol.delimiter, more: true)
        try Self.sendLast(frontend, body)
        return .sent
    }

    /// `[worker][frames…]`; `false` if the worker is gone (its loss is noticed by its heartbeats or process).
    private func sendCommand(_ backend: Socket, _ worker: WorkerID, _ frames: [[UInt8]]) throws -> Bool {
        guard try sendRoutingFrame(backend, worker) else { return false }
        try Self.sendLast(backend, frames[...])
        return true
    }

    private func sendHeartbeat(_ backend: Socket, _ worker: WorkerID) throws -> Bool {
        guard try sendRoutingFrame(backend, worker) else { return false }
        try backend.send(frame: WireProtocol.heartbeatByte)
        return true
    }

    /// Sends a routing id frame on a ROUTER_MANDATORY socket; `false` if that peer is gone or its pipe is full.
    private func sendRoutingFrame(_ socket: Socket, _ id: WorkerID) throws -> Bool {
        do {
            return try socket.send(frame: id.bytes, more: true, dontWait: true)
        } catch where error.isHostUnreachable {
            return false
        }
    }

    private static func sendLast(_ socket: Socket, _ frames: ArraySlice<[UInt8]>) throws {
        var index = frames.startIndex
        while index < frames.endIndex {
            let next = frames.index(after: index)
            try socket.send(frame: frames[index], more: next < frames.endIndex)
            index = next
        }
    }

    /// Logs a worker's lifecycle event and passes it to the supervisor.
    mutating func workerEvent(_ event: WorkerEvent) {
        server.options.observer?(event)
        let worker = event.worker.name
        switch event {
        case .hung(_, let reason):
            logger.warning("worker hung", metadata: ["worker": "\(worker)", "reason": "\(reason)"])
        case .drained:
            logger.debug("worker drained", metadata: ["worker": "\(worker)"])
        case .sessionsMoved(_, let successor, let moved, let failed, let lost):
            logger.log(level: failed + lost > 0 ? .warning : .info, "sessions handed off",
                       metadata: ["worker": "\(worker)", "successor": "\(successor.name)",
                                  "moved": "\(moved)", "failed": "\(failed)", "lost": "\(lost)"])
        case .ready(_, let heartbeating):
            logger.info("worker ready", metadata: ["worker": "\(worker)", "heartbeats": "\(heartbeating)"])
        case .lost(_, let reason, let hadRequest):
            // A worker that held nothing harmed no request: expected when it was replaced, stopped or said
            // DISCONNECT (the supervisor logs an unexpected exit itself).
            logger.log(level: hadRequest ? .warning : .info, "worker lost",
                       metadata: ["worker": "\(worker)", "reason": "\(reason)", "had_request": "\(hadRequest)"])
        }
    }

    /// Logs dropped input, at most ``logLimiter``'s burst per window, with a count of what was held back.
    mutating func log(_ event: BrokerLogEvent) {
        let (allowed, suppressed) = logLimiter.allow(now: Instant.now())
        if suppressed > 0 { logger.warning("\(suppressed) similar messages were not logged") }
        guard allowed else { return }
        switch event {
        case .malformedClientMessage(let frames):
            logger.warning("dropped a malformed client message", metadata: ["frames": "\(frames)"])
        case .malformedWorkerMessage(let worker, let frames):
            logger.warning("dropped a malformed worker message",
                           metadata: ["worker": "\(worker.name)", "frames": "\(frames)"])
        case .staleReply(let worker):
            logger.notice("dropped a reply for a request the worker no longer holds",
                          metadata: ["worker": "\(worker.name)"])
        case .sessionsDraining(let worker, let sessions):
            logger.info("a worker being replaced keeps its sessions until they end (no handoff)",
                        metadata: ["worker": "\(worker.name)", "sessions": "\(sessions)"])
        case .handoffFailed(let worker, let reason):
            logger.warning("a session could not move; it stays on its worker",
                           metadata: ["worker": "\(worker.name)", "reason": "\(reason)"])
        case .lostReply(let worker):
            logger.warning("a busy worker's connection closed before its reply arrived (too large?); answered bad-reply",
                           metadata: ["worker": "\(worker.name)"])
        }
    }
}
