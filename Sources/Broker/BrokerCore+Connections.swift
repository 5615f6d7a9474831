import BatonProtocol

/// A busy worker's connection closed: the request it holds, and when it is answered unless its reply or the
/// worker's end come first.
struct ConnectionLoss: Sendable {
    /// The request the worker held when its connection closed.
    let requestID: UInt64
    /// When the request is answered `bad-reply` if nothing else happened: for a managed worker, the end of
    /// the grace; nil for an external worker (only its heartbeat, its reply or the request timeout decide).
    let settlesAt: UInt64?
}

extension BrokerCore {
    /// How long the broker waits, after a managed busy worker's connection closed, for the supervisor to
    /// report the worker's process ended (then the request is answered `worker-died`) before it concludes
    /// the process lives on and its reply was lost.
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
    /// A worker that holds a request on that connection will not deliver its reply on it: libzmq closes the
    /// connection of a peer whose message is larger than the maximum message size (the worker reconnects on
    /// its own), and a connection closes when the worker's process ends. The request is answered as soon as
    /// the cause is clear: `worker-died` when the supervisor reports the process ended; `bad-reply` (the reply
    /// was lost) when the worker heartbeats on a new connection, or when a managed worker's process still runs
    /// after ``connectionLossGrace``. A reply that does arrive meanwhile is delivered as usual; an external
    /// worker that is not heard from is left to the request timeout. The worker stays registered.
    public mutating func connectionClosed(_ connection: Int32, now: UInt64, into out: inout [BrokerAction]) {
        guard connection >= 0 else { return }
        for (id, worker) in workers where worker.connection == connection {
            workers[id]?.connection = Self.closedConnection
            workers[id]?.connectionClosedAt = now
            if let request = worker.request {
                connectionLosses[id] = ConnectionLoss(
                    requestID: request.id, settlesAt: managed.contains(id) ? now &+ Self.connectionLossGrace : nil)
            }
        }
    }

    /// The earliest time a connection loss is settled by ``tick(now:into:)``.
    var connectionLossDeadline: UInt64? {
        guard !connectionLosses.isEmpty else { return nil }
        return connectionLosses.values.lazy.compactMap(\.settlesAt).min()
    }

    /// Answers the requests of managed busy workers whose connection closed longer than the grace ago.
    mutating func settleConnectionLosses(now: UInt64, into out: inout [BrokerAction]) {
        for (id, loss) in connectionLosses {
            if let settlesAt = loss.settlesAt, now >= settlesAt { failLostReply(id, now: now, into: &out) }
        }
    }

    /// A worker whose connection closed while busy sent a heartbeat: it is alive on a new connection, so its
    /// reply was lost with the old one.
    mutating func heardAfterConnectionLoss(_ id: [UInt8], now: UInt64, into out: inout [BrokerAction]) {
        failLostReply(id, now: now, into: &out)
    }

    /// Answers `bad-reply` to the request a worker held when its connection closed (if it still holds it) and
    /// makes the worker idle: a REQ socket that reconnected waits for a request, and one that is gone is
    /// removed by the next send to it (which fails), its request going back to the queue.
    private mutating func failLostReply(_ id: [UInt8], now: UInt64, into out: inout [BrokerAction]) {
        guard let loss = connectionLosses.removeValue(forKey: id) else { return }
        guard var worker = workers[id], let request = worker.request, request.id == loss.requestID else { return }
        worker.request = nil
        workers[id] = worker
        stats.inFlight -= 1
        out.append(.log(.lostReply(worker: id)))
        fail(request, .badReply, "the worker's connection closed before its reply arrived (a reply larger than "
             + "the maximum message size closes it)", now: now, into: &out)
        if !draining.isEmpty && draining.contains(id) { out.append(.worker(.drained(worker: id))) }
        makeIdle(id)
        pump(now: now, into: &out)
    }
}
