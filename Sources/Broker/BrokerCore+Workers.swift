import BatonProtocol
import DequeModule

extension BrokerCore {
    /// A message arrived on the backend: `[worker][""]?[payload…]`, on the connection with file descriptor
    /// `connection` (nil: unknown; see ``connectionClosed(_:now:into:)``).
    ///
    /// The payload is a reply `[token][""][body…]`, READY (`"READY"` or `0x01`, in DEALER framing optionally
    /// followed by a capacity and capabilities), HEARTBEAT (`0x02`, DEALER framing only) or DISCONNECT (`0x03`).
    public mutating func workerMessage(_ frames: [[UInt8]], now: Instant, connection: Int32? = nil,
                                       into out: inout [BrokerAction]) {
        guard frames.count >= 2, !frames[0].isEmpty else {
            return malformed(worker: WorkerID(routingID: frames.first ?? []), frames: frames.count, now: now,
                             into: &out)
        }
        let id = WorkerID(routingID: frames[0])
        if !banned.isEmpty, let until = banned[id] {
            if now < until {
                stats.staleReplies += 1
                return
            }
            banned[id] = nil
        }
        let framing: WorkerFraming = frames[1].isEmpty ? .request : .dealer
        let payload = frames[(framing == .request ? 2 : 1)...]
        guard let first = payload.first else {
            return malformed(worker: id, frames: frames.count, now: now, into: &out)
        }
        if payload.count >= 3, payload[payload.startIndex + 1].isEmpty,
           let token = RequestID(token: first)
        {
            return reply(from: id, framing: framing, token: token, body: payload[(payload.startIndex + 2)...],
                         connection: connection, now: now, into: &out)
        }
        if framing == .dealer, first.count == 1, (WireProtocol.endByte[0]...WireProtocol.importByte[0]).contains(first[0]),
           let index = workers.index(forKey: id)
        {
            workers.heard(at: index, now: now)
            guard let message = WorkerSessionMessage(payload) else {
                return malformed(worker: id, frames: frames.count, now: now, into: &out)
            }
            sessionMessage(message, from: id, now: now, into: &out)
            return pump(now: now, into: &out)
        }
        if framing == .dealer, first == WireProtocol.returnByte {
            return returned(from: id, tokens: payload.dropFirst(), now: now, into: &out)
        }
        switch ReadyMessage.parse(payload, framing: framing) {
        case .ready(let message):
            return ready(id, framing: framing, message, connection: connection, now: now, into: &out)
        case .malformed:
            return malformed(worker: id, frames: frames.count, now: now, into: &out)
        case .other:
            break
        }
        if payload.count == 1 {
            if first == WireProtocol.heartbeatByte && framing == .dealer {
                return heartbeat(id, connection: connection, now: now, into: &out)
            }
            if first == WireProtocol.disconnectByte {
                return disconnected(id, now: now, into: &out)
            }
        }
        malformed(worker: id, frames: frames.count, now: now, into: &out)
    }

    // MARK: Internals

    /// READY: registers a new worker with its capacity, or takes back a known one that restarted (whatever
    /// it held is lost, and it takes its new capacity).
    private mutating func ready(_ id: WorkerID, framing: WorkerFraming, _ message: ReadyMessage,
                                connection: Int32?, now: Instant, into out: inout [BrokerAction]) {
        let heartbeating = message.heartbeating
        if let index = workers.index(forKey: id) {
            workers.heard(at: index, now: now, connection: connection)
            workers.update(at: index) {
                $0.framing = framing
                $0.canHandOff = message.canHandOff
                $0.heartbeating = heartbeating
            }
            if !connectionLosses.isEmpty { connectionLosses[id] = nil }
            let lost = releaseAll(from: id, into: &out)
            let hadSessions = sessions.count(on: id) > 0
            if !sessions.isEmpty { loseSessions(on: id, draining: false, now: now, into: &out) }
            if hadSessions { maybeDrained(id, into: &out) }
            changeCapacity(of: id, to: message.capacity)
            requestsLost(lost, reason: "worker restarted", now: now, into: &out)
        } else {
            if heartbeating && workers.heartbeatingCount == 0 { nextHeartbeatAt = now + configuration.heartbeatInterval }
            register(WorkerRecord(id: id, framing: framing, heartbeating: heartbeating, lastSeen: now,
                                  capacity: message.capacity, canHandOff: message.canHandOff,
                                  connection: WorkerConnection(connection)))
            out.append(.worker(.ready(worker: id, heartbeating: heartbeating)))
            if configuration.recordHistory {
                out.append(.record(.workerReady(workerID: id, at: now)))
            }
        }
        pump(now: now, into: &out)
    }

    private mutating func heartbeat(_ id: WorkerID, connection: Int32?, now: Instant, into out: inout [BrokerAction]) {
        // Liveness only: a heartbeat never frees a worker's capacity.
        guard let index = workers.index(forKey: id) else {
            stats.unknownHeartbeats += 1
            return
        }
        workers.heard(at: index, now: now, connection: connection)
        if !workers.values[index].heartbeating {
            // A worker taken back by a late reply (registered without heartbeats) that heartbeats is held to
            // its liveness again.
            if workers.heartbeatingCount == 0 { nextHeartbeatAt = now + configuration.heartbeatInterval }
            workers.update(at: index) { $0.heartbeating = true }
        }
        if !connectionLosses.isEmpty && connectionLosses[id] != nil {
            heardAfterConnectionLoss(id, now: now, into: &out)
        }
    }

    private mutating func reply(from id: WorkerID, framing: WorkerFraming, token: RequestID, body: ArraySlice<[UInt8]>,
                                connection: Int32?, now: Instant, into out: inout [BrokerAction]) {
        guard let index = workers.index(forKey: id) else {
            // A worker the broker does not know (it connected before a broker restart, or it is an external
            // worker dropped after a request timeout whose late reply this is): the reply's client is gone or
            // already answered, but the worker is now waiting for work. It is taken back with capacity 1 until
            // it says READY again.
            stats.staleReplies += 1
            out.append(.log(.staleReply(worker: id)))
            return ready(id, framing: framing, ReadyMessage(heartbeating: false), connection: connection, now: now,
                         into: &out)
        }
        workers.heard(at: index, now: now, connection: connection)
        guard let entry = release(token, at: index) else {
            // A token the worker does not hold: late after a timeout or a loss, or a duplicate.
            stats.staleReplies += 1
            out.append(.log(.staleReply(worker: id)))
            return pump(now: now, into: &out)
        }
        let request = entry.request
        workers.served(at: index, dispatchedAt: entry.dispatchedAt, now: now)
        if !connectionLosses.isEmpty { replyArrived(token, from: id) }
        if let limit = configuration.maxMessageBytes, PendingRequest.size(of: body) > limit {
            fail(request, .tooLarge, "the worker's reply is larger than \(limit) bytes", now: now, into: &out)
        } else {
            stats.repliesForwarded += 1
            metrics.answered(request, now: now)
            if configuration.recordHistory {
                out.append(.record(.requestReplied(id: request.id, bytes: body.reduce(0) { $0 + $1.count }, at: now)))
            }
            out.append(.reply(envelope: request.envelope, body: body, request: request.id))
            if request.session != nil { sessionRequestFinished(request, now: now, into: &out) }
        }
        if !sessions.isEmpty { serveWaitingSessions(at: id, now: now, into: &out) }
        if let index = workers.index(forKey: id) { reportIfDrained(at: index, into: &out) }
        pump(now: now, into: &out)
    }

    private mutating func malformed(worker id: WorkerID, frames: Int, now: Instant, into out: inout [BrokerAction]) {
        stats.malformedWorkerMessages += 1
        out.append(.log(.malformedWorkerMessage(worker: id, frames: frames)))
        // A REQ worker can send only one message per request: a malformed one is its answer.
        guard let index = workers.index(forKey: id) else { return }
        workers.heard(at: index, now: now)
        guard workers.values[index].framing == .request, let held = workers.values[index].inFlight.keys.first,
              let entry = release(held, at: index)
        else { return }
        fail(entry.request, .badReply, "the worker's reply was not [token][\"\"][body…]", now: now, into: &out)
        if !sessions.isEmpty { serveWaitingSessions(at: id, now: now, into: &out) }
        reportIfDrained(at: index, into: &out)
        pump(now: now, into: &out)
    }
}
