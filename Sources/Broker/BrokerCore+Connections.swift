import BatonProtocol

/// A busy worker's connection closed: the requests it held on it, and when those still unanswered are
/// answered unless their replies or the worker's end come first.
struct ConnectionLoss: Sendable {
    /// The requests the worker held when its connection closed and that have not been answered since.
    var requestIDs: [RequestID]
    /// When the requests are answered `bad-reply` if nothing else happened: for a managed worker, the end of
    /// the grace; nil for an external worker (only its heartbeat, its replies or the request timeout decide).
    let settlesAt: Instant?
}

extension BrokerCore {
    /// How long the broker waits, after a managed busy worker's connection closed, for the supervisor to
    /// report the worker's process ended (then the request is answered `worker-died`) before it concludes
    /// the process lives on and its reply was lost.
    static let connectionLossGrace = TimeSpan.milliseconds(500)

    /// The supervisor started a process for this worker id: if the broker drops the worker as hung, it
    /// ignores the worker until ``workerProcessEnded(_:reason:now:into:)``, since the process is being ended.
    /// `generation` is the generation of the code it runs (new sessions prefer the one a reload rolls out).
    public mutating func workerProcessStarted(_ id: WorkerID, generation: GenerationID? = nil) {
        managed.insert(id)
        if let generation { generations[id] = generation }
    }

    /// A backend connection closed (a monitor event with its file descriptor).
    ///
    /// A worker that holds requests on that connection will not deliver their replies on it: libzmq closes the
    /// connection of a peer whose message is larger than the maximum message size (the worker reconnects on
    /// its own), and a connection closes when the worker's process ends. Every request it held then is
    /// answered as soon as the cause is clear: `worker-died` when the supervisor reports the process ended;
    /// `bad-reply` (the replies were lost) when the worker heartbeats on a new connection, or when a managed
    /// worker's process still runs after ``connectionLossGrace``. A reply that does arrive meanwhile is
    /// delivered as usual; an external worker that is not heard from is left to the request timeout. The
    /// worker stays registered.
    public mutating func connectionClosed(_ connection: Int32, now: Instant, into out: inout [BrokerAction]) {
        for index in workers.values.indices where workers.values[index].connection == .open(connection) {
            workers.connectionClosed(at: index, now: now)
            let worker = workers.values[index]
            let id = worker.id
            if worker.isBusy {
                connectionLosses[id] = ConnectionLoss(
                    requestIDs: worker.requests.map(\.id),
                    settlesAt: managed.contains(id) ? now + Self.connectionLossGrace : nil)
            }
        }
    }

    /// The earliest time a connection loss is settled by ``tick(now:into:)``.
    var connectionLossDeadline: Instant? {
        guard !connectionLosses.isEmpty else { return nil }
        return connectionLosses.values.lazy.compactMap(\.settlesAt).min()
    }

    /// A worker whose connection closed answered one of the requests it held then: that one is settled.
    mutating func replyArrived(_ requestID: RequestID, from id: WorkerID) {
        guard var loss = connectionLosses[id], let position = loss.requestIDs.firstIndex(of: requestID) else {
            return
        }
        loss.requestIDs.remove(at: position)
        connectionLosses[id] = loss.requestIDs.isEmpty ? nil : loss
    }

    /// Answers the requests of managed busy workers whose connection closed longer than the grace ago.
    mutating func settleConnectionLosses(now: Instant, into out: inout [BrokerAction]) {
        for (id, loss) in connectionLosses {
            if let settlesAt = loss.settlesAt, now >= settlesAt { failLostReply(id, now: now, into: &out) }
        }
    }

    /// A worker whose connection closed while busy sent a heartbeat: it is alive on a new connection, so the
    /// replies it owed on the old one were lost.
    mutating func heardAfterConnectionLoss(_ id: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        failLostReply(id, now: now, into: &out)
    }

    /// Answers `bad-reply` to each request a worker held when its connection closed (those it still holds)
    /// and frees their capacity: a REQ socket that reconnected waits for a request, and one that is gone is
    /// removed by the next send to it (which fails), its request going back to the queue.
    private mutating func failLostReply(_ id: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard let loss = connectionLosses.removeValue(forKey: id), let index = workers.index(forKey: id) else {
            return
        }
        var failed = false
        for requestID in loss.requestIDs {
            guard let entry = release(requestID, at: index) else { continue }
            if !failed { out.append(.log(.lostReply(worker: id))) }
            failed = true
            fail(entry.request, .badReply, "the worker's connection closed before its reply arrived (a reply "
                 + "larger than the maximum message size closes it)", now: now, into: &out)
        }
        guard failed else { return }
        if !sessions.isEmpty { serveWaitingSessions(at: id, now: now, into: &out) }
        reportIfDrained(at: index, into: &out)
        pump(now: now, into: &out)
    }
}
