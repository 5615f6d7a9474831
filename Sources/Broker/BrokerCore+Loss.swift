import BatonProtocol

extension BrokerCore {
    /// A send to a worker failed because it is gone (`EHOSTUNREACH`): remove it.
    ///
    /// `undelivered` are the requests whose dispatch failed: they never reached the worker, so they are
    /// queued again at the front without counting as an attempt. Every other request it holds was delivered
    /// and is lost as with any dead worker (retried under `--retry-on-crash`, else answered `worker-died`).
    /// With no undelivered request (a heartbeat found it gone), a worker whose connection closed less than
    /// ``connectionLossGrace`` ago is kept: it may be reconnecting (libzmq closed its connection for an
    /// oversized message).
    public mutating func workerUnreachable(_ id: WorkerID, undelivered: [RequestID], now: Instant,
                                           into out: inout [BrokerAction]) {
        guard let index = workers.index(forKey: id) else { return }
        let worker = workers.values[index]
        if undelivered.isEmpty, case .closed(let closedAt) = worker.connection,
           now.since(closedAt) < Self.connectionLossGrace
        {
            return
        }
        var returned: [PendingRequest] = []
        var sessionRequests: [PendingRequest] = []
        for requestID in undelivered {
            guard var request = release(requestID, at: index)?.request else { continue }
            request.attempts -= 1
            if request.session == nil { returned.append(request) } else { sessionRequests.append(request) }
        }
        for request in returned.sorted(by: { $0.id > $1.id }) { requeue(request, now: now, into: &out) }
        stats.workersUnreachable += 1
        removeWorker(id, reason: .unreachable, now: now, into: &out)
        // A session request cannot go to another worker: the session's state went with this one.
        requestsLost(sessionRequests, reason: "unreachable", now: now, into: &out)
        pump(now: now, into: &out)
    }

    /// Stops giving a worker requests; reports ``WorkerEvent/drained(worker:)`` once it holds none
    /// (at once if it holds none or is unknown). Used to replace a worker without failing its requests.
    public mutating func drainWorker(_ id: WorkerID, into out: inout [BrokerAction]) {
        guard let index = workers.index(forKey: id) else {
            out.append(.worker(.drained(worker: id)))
            return
        }
        if !workers.values[index].isDraining {
            workers.update(at: index) { $0.isDraining = true }
            noteIdleWorkers()
        }
        reportIfDrained(at: index, into: &out)
    }

    /// Removes a worker (it died, hung or vanished); every request it held is retried or answered
    /// `worker-died`.
    public mutating func removeWorker(_ id: WorkerID, reason: WorkerLossReason, now: Instant, into out: inout [BrokerAction]) {
        guard let worker = unregister(id) else { return }
        if !connectionLosses.isEmpty { connectionLosses[id] = nil }
        out.append(.worker(.lost(worker: id, reason: reason, hadRequest: worker.isBusy)))
        if configuration.recordHistory {
            out.append(.record(.workerLost(workerID: id, reason: reason, at: now)))
        }
        if !sessions.isEmpty { loseSessions(on: id, draining: worker.isDraining, now: now, into: &out) }
        if worker.isBusy { requestsLost(worker.requests, reason: reason.description, now: now, into: &out) }
        pump(now: now, into: &out)
    }

    /// Requests (oldest first) whose worker was lost after they reached it: each is retried (queued again
    /// at the front, the oldest first) while it has attempts left under `--retry-on-crash`, else answered
    /// `worker-died`. During a shutdown nothing is retried: no request is dispatched any more.
    mutating func requestsLost(_ requests: [PendingRequest], reason: String, now: Instant,
                               into out: inout [BrokerAction]) {
        var retries: [PendingRequest] = []
        for request in requests {
            if request.session != nil {
                // Never retried elsewhere: the session's state was on the lost worker.
                stats.sessionLostReplies += 1
                fail(request, .sessionLost, "the worker holding the session was lost: \(reason)", now: now, into: &out)
            } else if request.attempts <= configuration.retryOnCrash && !stopping {
                retries.append(request)
            } else {
                fail(request, .workerDied, "the worker serving the request was lost: \(reason)", now: now, into: &out)
            }
        }
        for request in retries.reversed() {
            stats.retried += 1
            requeue(request, now: now, into: &out)
        }
    }
}
