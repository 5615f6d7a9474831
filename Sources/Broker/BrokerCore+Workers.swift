import BatonProtocol
import DequeModule

extension BrokerCore {
    /// A message arrived on the backend: `[worker][""]?[payload…]`, on the connection with file descriptor
    /// `connection` (-1: unknown; see ``connectionClosed(_:now:into:)``).
    ///
    /// The payload is READY (`"READY"` or `0x01`), HEARTBEAT (`0x02`, DEALER framing only), DISCONNECT
    /// (`0x03`), or a reply `[token][""][body…]`.
    public mutating func workerMessage(_ frames: [[UInt8]], now: UInt64, connection: Int32 = -1,
                                       into out: inout [BrokerAction]) {
        guard frames.count >= 2, !frames[0].isEmpty else {
            return malformed(worker: frames.first ?? [], frames: frames.count, now: now, into: &out)
        }
        let id = frames[0]
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
        if payload.count == 1 {
            if first == WireProtocol.readyText || first == WireProtocol.readyByte {
                return ready(id, framing: framing, heartbeating: framing == .dealer && first == WireProtocol.readyByte,
                             connection: connection, now: now, into: &out)
            }
            if first == WireProtocol.heartbeatByte && framing == .dealer {
                return heartbeat(id, connection: connection, now: now, into: &out)
            }
            if first == WireProtocol.disconnectByte {
                return disconnected(id, now: now, into: &out)
            }
        }
        guard payload.count >= 3, let token = WireProtocol.requestID(fromToken: first),
              payload[payload.startIndex + 1].isEmpty
        else {
            return malformed(worker: id, frames: frames.count, now: now, into: &out)
        }
        reply(from: id, framing: framing, token: token, body: payload[(payload.startIndex + 2)...],
              connection: connection, now: now, into: &out)
    }

    /// A send to a worker failed because it is gone (`EHOSTUNREACH`): remove it.
    ///
    /// If the failed send was the dispatch of its request (`dispatchFailed`), the request never reached the
    /// worker, so it is queued again at the front without counting as an attempt. Otherwise (a heartbeat
    /// found it gone) the worker may have died of its request: that request is lost as with any dead worker
    /// (retried under `--retry-on-crash`, else answered `worker-died`). A heartbeat that finds gone a worker
    /// whose connection closed less than ``connectionLossGrace`` ago removes nothing: the worker may be
    /// reconnecting (libzmq closed its connection for an oversized message).
    public mutating func workerUnreachable(_ id: [UInt8], dispatchFailed: Bool = true, now: UInt64,
                                           into out: inout [BrokerAction]) {
        guard var worker = workers[id] else { return }
        if !dispatchFailed && worker.connection == Self.closedConnection
            && now &- worker.connectionClosedAt < Self.connectionLossGrace
        {
            return
        }
        if dispatchFailed, var request = worker.request {
            request.attempts -= 1
            worker.request = nil
            workers[id] = worker
            stats.inFlight -= 1
            requeue(request, now: now, into: &out)
        }
        stats.workersUnreachable += 1
        removeWorker(id, reason: "unreachable", now: now, into: &out)
        pump(now: now, into: &out)
    }

    /// Stops giving a worker requests; reports ``WorkerEvent/drained(worker:)`` once it holds none
    /// (at once if it is idle or unknown). Used to replace a worker without failing its request.
    public mutating func drainWorker(_ id: [UInt8], into out: inout [BrokerAction]) {
        guard let worker = workers[id] else {
            out.append(.worker(.drained(worker: id)))
            return
        }
        draining.insert(id)
        if let index = idle.firstIndex(of: id) { idle.remove(at: index) }
        stats.idleWorkers = idle.count
        if !worker.isBusy { out.append(.worker(.drained(worker: id))) }
    }

    /// Removes a worker (it died, hung or vanished); its request is retried or answered with `worker-died`.
    public mutating func removeWorker(_ id: [UInt8], reason: String, now: UInt64, into out: inout [BrokerAction]) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        if !draining.isEmpty { draining.remove(id) }
        if !connectionLosses.isEmpty { connectionLosses[id] = nil }
        if worker.heartbeating { heartbeatingWorkers -= 1 }
        if let index = idle.firstIndex(of: id) { idle.remove(at: index) }
        stats.workers = workers.count
        out.append(.worker(.lost(worker: id, reason: reason, hadRequest: worker.request != nil)))
        if configuration.recordHistory {
            out.append(.record(.workerLost(workerID: HistoryEvent.workerID(forRoutingID: id), reason: reason, at: now)))
        }
        if let request = worker.request {
            stats.inFlight -= 1
            requestLost(request, reason: reason, now: now, into: &out)
        }
        pump(now: now, into: &out)
    }

    // MARK: Internals

    private mutating func ready(_ id: [UInt8], framing: WorkerFraming, heartbeating: Bool, connection: Int32 = -1,
                                now: UInt64, into out: inout [BrokerAction]) {
        if var worker = workers[id] {
            // A known worker saying READY again has restarted: whatever it held is lost.
            worker.lastSeen = now
            worker.connection = connection
            worker.framing = framing
            if worker.heartbeating != heartbeating { heartbeatingWorkers += heartbeating ? 1 : -1 }
            worker.heartbeating = heartbeating
            if let request = worker.request {
                worker.request = nil
                stats.inFlight -= 1
                workers[id] = worker
                requestLost(request, reason: "worker restarted", now: now, into: &out)
                makeIdle(id)
            } else {
                workers[id] = worker
                if !idle.contains(id) { makeIdle(id) }
            }
        } else {
            workers[id] = WorkerRecord(id: id, framing: framing, heartbeating: heartbeating, lastSeen: now,
                                       connection: connection)
            if heartbeating {
                if heartbeatingWorkers == 0 { nextHeartbeatAt = now + configuration.heartbeatInterval }
                heartbeatingWorkers += 1
            }
            stats.workers = workers.count
            makeIdle(id)
            out.append(.worker(.ready(worker: id, heartbeating: heartbeating)))
            if configuration.recordHistory {
                out.append(.record(.workerReady(workerID: HistoryEvent.workerID(forRoutingID: id), at: now)))
            }
        }
        pump(now: now, into: &out)
    }

    private mutating func heartbeat(_ id: [UInt8], connection: Int32, now: UInt64, into out: inout [BrokerAction]) {
        // Liveness only: a heartbeat never makes a busy worker idle.
        guard var worker = workers[id] else {
            stats.unknownHeartbeats += 1
            return
        }
        worker.lastSeen = now
        worker.connection = connection
        if !worker.heartbeating {
            // A worker taken back by a late reply (registered without heartbeats) that heartbeats is held to
            // its liveness again.
            worker.heartbeating = true
            if heartbeatingWorkers == 0 { nextHeartbeatAt = now + configuration.heartbeatInterval }
            heartbeatingWorkers += 1
        }
        workers[id] = worker
        if !connectionLosses.isEmpty && connectionLosses[id] != nil {
            heardAfterConnectionLoss(id, now: now, into: &out)
        }
    }

    private mutating func reply(from id: [UInt8], framing: WorkerFraming, token: UInt64, body: ArraySlice<[UInt8]>,
                                connection: Int32, now: UInt64, into out: inout [BrokerAction]) {
        guard var worker = workers[id] else {
            // A worker the broker does not know (it connected before a broker restart, or it is an external
            // worker dropped after a request timeout whose late reply this is): the reply's client is gone or
            // already answered, but the worker is now waiting for work.
            stats.staleReplies += 1
            out.append(.log(.staleReply(worker: id)))
            return ready(id, framing: framing, heartbeating: false, connection: connection, now: now, into: &out)
        }
        worker.lastSeen = now
        worker.connection = connection
        guard let request = worker.request, request.id == token else {
            stats.staleReplies += 1
            workers[id] = worker
            out.append(.log(.staleReply(worker: id)))
            if worker.request == nil && !idle.contains(id) { makeIdle(id) }
            return pump(now: now, into: &out)
        }
        worker.request = nil
        worker.served += 1
        workers[id] = worker
        if !connectionLosses.isEmpty { connectionLosses[id] = nil }
        stats.inFlight -= 1
        stats.repliesForwarded += 1
        metrics.answered(request, now: now)
        if configuration.recordHistory {
            out.append(.record(.requestReplied(id: request.id, bytes: body.reduce(0) { $0 + $1.count }, at: now)))
        }
        out.append(.reply(envelope: request.envelope, body: body))
        if !draining.isEmpty && draining.contains(id) { out.append(.worker(.drained(worker: id))) }
        makeIdle(id)
        pump(now: now, into: &out)
    }

    private mutating func malformed(worker id: [UInt8], frames: Int, now: UInt64, into out: inout [BrokerAction]) {
        stats.malformedWorkerMessages += 1
        out.append(.log(.malformedWorkerMessage(worker: id, frames: frames)))
        // A REQ worker can send only one message per request: a malformed one is its answer.
        guard var worker = workers[id] else { return }
        worker.lastSeen = now
        if worker.framing == .request, let request = worker.request {
            worker.request = nil
            workers[id] = worker
            stats.inFlight -= 1
            fail(request, .badReply, "the worker's reply was not [token][\"\"][body…]", now: now, into: &out)
            makeIdle(id)
            pump(now: now, into: &out)
        } else {
            workers[id] = worker
        }
    }

    private mutating func requestLost(_ request: PendingRequest, reason: String, now: UInt64,
                                      into out: inout [BrokerAction]) {
        if request.attempts <= configuration.retryOnCrash {
            stats.retried += 1
            requeue(request, now: now, into: &out)
        } else {
            fail(request, .workerDied, "the worker serving the request was lost: \(reason)", now: now, into: &out)
        }
    }

    mutating func makeIdle(_ id: [UInt8]) {
        if !draining.isEmpty && draining.contains(id) { return }
        idle.append(id)
        stats.idleWorkers = idle.count
    }
}
