import BatonProtocol

/// A busy worker's connection closed: the request it holds, and when.
struct ConnectionLoss: Sendable {
    /// The request the worker held when its connection closed.
    let requestID: UInt64
    /// Monotonic time the connection closed.
    let at: UInt64
}

extension BrokerCore {
    /// How long the broker waits, after a busy worker's connection closed, for the supervisor to report the
    /// worker's process ended (then the request is answered `worker-died`) before it answers the request.
    static let connectionLossGrace: UInt64 = 500_000_000
    /// ``WorkerRecord/connection`` of a worker whose connection closed and that has sent nothing since.
    static let closedConnection: Int32 = -2

    /// The supervisor started a process for this worker id: if the broker drops the worker as hung, it
    /// ignores the worker until ``workerProcessEnded(_:reason:now:into:)``, since the process is being ended.
    public mutating func workerProcessStarted(_ id: [UInt8]) {
        managed.insert(id)
    }

    /// A backend connection closed (a monitor event with its file descriptor).
    ///
    /// A worker that holds a request on that connection will not deliver its reply: libzmq closes a connection
    /// whose message is larger than the maximum message size (the worker then reconnects), and a connection
    /// closes when the worker's process ends. The request is answered as soon as the cause is clear:
    /// `worker-died` when the supervisor reports the process ended (within ``connectionLossGrace``);
    /// `bad-reply` when the worker shows it is alive (a heartbeat on its new connection) or is a managed
    /// worker whose process still runs after the grace; `worker-died` for an external worker not heard from.
    /// A reply that does arrive in the meantime is delivered as usual. The worker stays registered.
    public mutating func connectionClosed(_ connection: Int32, now: UInt64, into out: inout [BrokerAction]) {
        guard connection >= 0 else { return }
        for (id, worker) in workers where worker.connection == connection {
            workers[id]?.connection = Self.closedConnection
            if let request = worker.request {
                connectionLosses[id] = ConnectionLoss(requestID: request.id, at: now)
            }
        }
    }

    /// The earliest time a connection loss is settled by ``tick(now:into:)``.
    var connectionLossDeadline: UInt64? {
        guard !connectionLosses.isEmpty else { return nil }
        return connectionLosses.values.lazy.map(\.at).min().map { $0 &+ Self.connectionLossGrace }
    }

    /// Answers the requests of busy workers whose connection closed longer than the grace ago.
    mutating func settleConnectionLosses(now: UInt64, into out: inout [BrokerAction]) {
        for (id, loss) in connectionLosses where now >= loss.at &+ Self.connectionLossGrace {
            failLostReply(id, aliveEvidence: managed.contains(id), now: now, into: &out)
        }
    }

    /// A worker whose connection closed while busy sent something other than its reply: it is alive on a new
    /// connection, so its reply was lost with the old one.
    mutating func heardAfterConnectionLoss(_ id: [UInt8], now: UInt64, into out: inout [BrokerAction]) {
        failLostReply(id, aliveEvidence: true, now: now, into: &out)
    }

    /// Answers the request a worker held when its connection closed (if it still holds it) and makes the
    /// worker idle: a REQ socket that reconnected waits for a request, and one that is gone is removed by the
    /// next send to it (which fails), its request going back to the queue.
    private mutating func failLostReply(_ id: [UInt8], aliveEvidence: Bool, now: UInt64,
                                        into out: inout [BrokerAction]) {
        guard let loss = connectionLosses.removeValue(forKey: id) else { return }
        guard var worker = workers[id], let request = worker.request, request.id == loss.requestID else { return }
        worker.request = nil
        workers[id] = worker
        stats.inFlight -= 1
        let code: BatonErrorCode = aliveEvidence ? .badReply : .workerDied
        out.append(.log(.lostReply(worker: id, code: code)))
        if aliveEvidence {
            fail(request, .badReply, "the worker's connection closed before its reply arrived (a reply larger than "
                 + "the maximum message size closes it)", now: now, into: &out)
        } else {
            fail(request, .workerDied, "the worker serving the request was lost: its connection closed",
                 now: now, into: &out)
        }
        if !draining.isEmpty && draining.contains(id) { out.append(.worker(.drained(worker: id))) }
        makeIdle(id)
        pump(now: now, into: &out)
    }
}
