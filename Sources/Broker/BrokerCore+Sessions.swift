import BatonProtocol
import DequeModule

/// Sessions: sticky routing, per-key order, idle expiry and loss (docs/protocol.md, "Sessions"). Requests
/// carry their key in ``PendingRequest/session``; handoff is in `BrokerCore+Handoff.swift`.
extension BrokerCore {
    /// A session request was read (the broker runs and its size passed).
    mutating func sessionRequest(_ request: PendingRequest, key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        var request = request
        request.session = key
        if configuration.recordHistory { out.append(.record(.requestSession(id: request.id, key: key))) }
        guard let index = sessions.index(key) else {
            guard sessions.liveCount < configuration.maxSessions else {
                stats.sessionsRefused += 1
                return fail(request, .tooManySessions,
                            "\(configuration.maxSessions) sessions are open (--max-sessions)", now: now, into: &out)
            }
            request.opensSession = true
            sessions.open(key, opener: request.id, now: now)
            sessions.update(key) { $0.requests = 1 }
            noteSessions()
            queue.append(request)
            noteQueueDepth()
            return pump(now: now, into: &out)
        }
        // The common case in one look-up: nothing of the key in flight or held, its worker has a free slot.
        let (lost, direct): (Bool, WorkerID?) = sessions.modify(at: index) { record in
            if record.lost { return (true, nil) }
            record.requests += 1
            record.lastActivity = now
            return (false, record.canDispatch && record.held.isEmpty ? record.worker : nil)
        }
        if lost {
            // Requests held behind a request still in flight (its drain timed out) learn the loss with this one.
            answerLost(key, now: now, into: &out)
            return failSessionLost(request, now: now, into: &out)
        }
        if let worker = direct, let slot = workers.index(forKey: worker), workers.values[slot].hasFreeCapacity {
            sessions.modify(at: index) { $0.busy = request.id }
            return dispatch(request, at: slot, now: now, into: &out)
        }
        sessions.hold(request, in: key)
        noteQueueDepth()
        releaseHeld(key, now: now, into: &out)
    }

    /// Sends the session's next held request to its worker if it can go now, or notes that it waits for a
    /// free slot there.
    mutating func releaseHeld(_ key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key], record.canDispatch, !record.held.isEmpty, let worker = record.worker
        else { return }
        guard workers[worker]?.hasFreeCapacity == true else { return sessions.waitForCapacity(key, at: worker) }
        guard let request = sessions.takeHeld(key) else { return }
        noteQueueDepth()
        sessions.update(key) { $0.busy = request.id }
        dispatch(request, to: worker, evenIfDraining: true, now: now, into: &out)
    }

    /// A worker has a free slot: its sessions' held requests go first (they can go nowhere else).
    mutating func serveWaitingSessions(at worker: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard sessions.hasWaiting else { return }
        while workers[worker]?.hasFreeCapacity == true, let key = sessions.nextWaiting(at: worker) {
            releaseHeld(key, now: now, into: &out)
        }
    }

    /// The opening request of a session was sent to `worker`: the session lives there now.
    mutating func sessionPlaced(_ key: SessionKey, on worker: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key], record.worker == nil, !record.lost else { return }
        sessions.place(key, on: worker)
        stats.sessionsOpened += 1
        if configuration.recordHistory { out.append(.record(.sessionOpened(key: key, worker: worker, at: now))) }
    }

    /// A session request was answered, by its worker or with an error (`code`): the key's next request may go.
    mutating func sessionRequestFinished(_ request: PendingRequest, code: BatonErrorCode? = nil, now: Instant,
                                         into out: inout [BrokerAction]) {
        guard let key = request.session, let index = sessions.index(key) else { return }
        // The common case in one look-up: an active session with nothing held behind this request.
        let (mine, simple) = sessions.modify(at: index) { record -> (Bool, Bool) in
            guard record.busy == request.id else { return (false, false) }
            record.busy = nil
            record.lastActivity = now
            return (true, record.isSettled && record.held.isEmpty)
        }
        guard mine, !simple, let record = sessions[key] else { return }
        if record.lost {
            // The session is gone. If this request learnt it (session-lost), the next one opens a new session;
            // if it was served (its worker outlived the session's drain timeout), the next one learns it.
            if code == .sessionLost || !record.held.isEmpty { answerLost(key, now: now, into: &out) }
            return
        }
        guard let worker = record.worker else {
            // Its opener never reached a worker (it expired, or was refused): the next held request opens it.
            return reopen(key, now: now, into: &out)
        }
        if record.endRequested { return endSession(key, reason: .ended, now: now, into: &out) }
        if let move = record.move, move.phase == .waiting { return beginExport(key, from: worker, now: now, into: &out) }
        releaseHeld(key, now: now, into: &out)
    }

    /// A worker said END for a session it holds.
    mutating func workerEndedSession(_ worker: WorkerID, key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key], record.worker == worker, !record.lost else {
            stats.staleSessionMessages += 1
            return
        }
        if record.busy != nil {
            sessions.update(key) { $0.requestEnd() }
        } else {
            endSession(key, reason: .ended, now: now, into: &out)
        }
    }

    /// Ends a session that holds no request in flight: tells its worker END (unless the worker ended it) and
    /// records why. Requests held behind it open a new session.
    mutating func endSession(_ key: SessionKey, reason: SessionEndReason, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key], let worker = record.worker else { return }
        if let move = record.move {
            abandonMove(key, move, reason: "the session ended", keep: false, now: now, into: &out)
        }
        if reason != .ended { sendEnd(key, to: worker, into: &out) }
        stats.sessionsEnded += 1
        recordEnd(key, worker: worker, reason: reason, requests: record.requests - record.held.count, now: now,
                  into: &out)
        if record.held.isEmpty {
            sessions.remove(key)
        } else {
            reopen(key, now: now, into: &out)
        }
        noteSessions()
        maybeDrained(worker, into: &out)
    }

    /// Makes the oldest held request of a session that ended (or never opened) the opener of a new session:
    /// it goes to the front of the queue, having waited; the others stay held behind it.
    private mutating func reopen(_ key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        guard var record = sessions.remove(key) else { return }
        guard var opener = record.held.popFirst() else { return noteSessions() }
        opener.opensSession = true
        sessions.open(key, opener: opener.id, now: now)
        sessions.update(key) { $0.requests = 1 + record.held.count }
        for request in record.held { sessions.hold(request, in: key) }
        queue.prepend(opener)
        noteQueueDepth()
        noteSessions()
        pump(now: now, into: &out)
    }

    /// The worker holding these sessions was lost (or restarted): each is lost. A request of one in flight
    /// is answered `session-lost` by the caller (see ``requestLost``), and the requests held behind it with
    /// it; a session with nothing waiting answers its next request so. The sessions of a worker being replaced
    /// (`draining`) that leaves or is stopped before they ended (the reload's drain allowance ran out) end as
    /// `drain-timeout`.
    mutating func loseSessions(on worker: WorkerID, draining: Bool, now: Instant, into out: inout [BrokerAction]) {
        sessions.forgetWaiting(at: worker)
        abandonMoves(to: worker, now: now, into: &out)
        for key in sessions.keys(on: worker) {
            guard let record = sessions[key] else { continue }
            if let move = record.move {
                abandonMove(key, move, reason: "the worker was lost", keep: false, workerLost: true, now: now,
                            into: &out)
            }
            stats.sessionsEnded += 1
            sessions.markLost(key, from: worker, now: now, endRecorded: draining)
            if draining {
                stats.sessionsDrainTimedOut += 1
                recordEnd(key, worker: worker, reason: .drainTimeout, requests: record.requests, now: now, into: &out)
            }
            if record.busy == nil && !record.held.isEmpty { answerLost(key, now: now, into: &out) }
        }
        forgetLostBeyondBound(now: now, into: &out)
        noteSessions()
    }

    /// Keeps at most `--max-sessions` lost sessions for their `session-lost` answer: the oldest idle ones are
    /// forgotten first (their next request opens a new session without that answer), and counted.
    private mutating func forgetLostBeyondBound(now: Instant, into out: inout [BrokerAction]) {
        while sessions.lostCount > configuration.maxSessions, let key = sessions.oldestIdleLost() {
            stats.lostSessionsForgotten += 1
            forgetLost(key, now: now, into: &out)
        }
    }

    /// Answers `session-lost` to every request of a lost session still held, and forgets the session.
    private mutating func answerLost(_ key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key] else { return }
        forgetLost(key, now: now, into: &out)
        for request in record.held { failSessionLost(request, now: now, into: &out) }
        noteQueueDepth()
    }

    /// Forgets a lost session, recording its end if that is not done yet.
    private mutating func forgetLost(_ key: SessionKey, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions.remove(key) else { return }
        noteSessions()
        if !record.endRecorded, let worker = record.lostFrom {
            recordEnd(key, worker: worker, reason: .lost, requests: record.requests - record.held.count, now: now,
                      into: &out)
        }
    }

    private mutating func failSessionLost(_ request: PendingRequest, now: Instant, into out: inout [BrokerAction]) {
        stats.sessionLostReplies += 1
        fail(request, .sessionLost, "the worker holding the session was lost; the next request opens a new session",
             now: now, into: &out)
    }

    /// Records a session's end.
    func recordEnd(_ key: SessionKey, worker: WorkerID, reason: SessionEndReason, requests: Int, now: Instant,
                   into out: inout [BrokerAction]) {
        guard configuration.recordHistory else { return }
        out.append(.record(.sessionEnded(key: key, worker: worker, reason: reason, requests: max(requests, 0), at: now)))
    }

    /// Tells a worker to forget a session: `[0x04][key]` (DEALER workers only: a REQ socket cannot take it).
    func sendEnd(_ key: SessionKey, to worker: WorkerID, into out: inout [BrokerAction]) {
        guard workers[worker]?.framing == .dealer else { return }
        out.append(.send(worker: worker, frames: [WireProtocol.endByte, key.bytes]))
    }

    /// Ends every session (the broker is shutting down): held requests are answered `shutting-down`.
    mutating func endAllSessions(now: Instant, into out: inout [BrokerAction]) {
        let holders = Set(sessions.byWorker.keys)
        for key in Array(sessions.records.keys) {
            guard let record = sessions.remove(key) else { continue }
            for request in record.held {
                fail(request, .shuttingDown, "the broker is shutting down", now: now, into: &out)
            }
            if !record.lost && record.worker != nil { stats.sessionsEnded += 1 }
            if !record.endRecorded, let worker = record.worker ?? record.lostFrom {
                recordEnd(key, worker: worker, reason: .shutdown, requests: record.requests, now: now, into: &out)
            }
        }
        noteSessions()
        noteQueueDepth()
        for worker in holders { maybeDrained(worker, into: &out) }
    }

    /// The worker a new session opens on: among the workers with a free slot, the one holding the fewest
    /// sessions (a session brings its future requests with it, and cannot move off a busy worker), then the
    /// fewest requests in flight, then the least recently used. During a rolling update only workers of the
    /// generation being rolled out (``sessionGeneration``) are candidates, so that sessions do not open on
    /// workers about to be replaced; nil when none has a slot (the dispatch rule then decides). O(workers), for
    /// a session's first request only.
    func sessionHome() -> WorkerIndex? {
        var best: (index: WorkerIndex, load: (Int, Int, UInt64))?
        var index = workers.values.startIndex
        while index != workers.values.endIndex {
            defer { workers.values.formIndex(after: &index) }
            let worker = workers.values[index]
            guard worker.freeSlots > 0 else { continue }
            if let generation = sessionGeneration, generations[worker.id] != generation { continue }
            let load = (sessions.count(on: worker.id), worker.inFlight.count, worker.lastUsed)
            if let current = best, current.load <= load { continue }
            best = (index, load)
        }
        return best?.index
    }

    /// Makes new sessions open on workers of `generation` while a rolling update to it (or a rollback from
    /// it) runs; nil when it is over. Without this, a session opened during a reload on an old worker that is
    /// not replaced yet would have to move (or drain) again moments later.
    public mutating func preferSessions(onGeneration generation: GenerationID?) {
        sessionGeneration = generation
    }

    // MARK: Time

    /// When the session table next needs ``sessionTick(now:into:)``.
    var sessionDeadline: Instant? { sessions.isEmpty ? nil : nextSessionScanAt }

    /// Expires idle sessions, held requests past the queue timeout, drain timeouts and handoff timeouts.
    mutating func sessionTick(now: Instant, into out: inout [BrokerAction]) {
        guard !sessions.isEmpty, now >= nextSessionScanAt else { return }
        nextSessionScanAt = now + (moves.isEmpty ? Self.sessionScanInterval : Self.sessionScanInterval / 4)
        for key in Array(sessions.records.keys) {
            guard let record = sessions[key] else { continue }
            if let move = record.move, let deadline = move.deadline, now >= deadline {
                abandonMove(key, move, reason: "no answer to \(move.phase == .exporting ? "EXPORT" : "IMPORT") within "
                            + "\(configuration.handoffTimeout.milliseconds) ms", now: now, into: &out)
            }
            if let timeout = configuration.queueTimeout { expireHeld(key, timeout: timeout, now: now, into: &out) }
            guard let record = sessions[key] else { continue }
            if let deadline = record.drainDeadline, now >= deadline, let worker = record.worker {
                drainTimedOut(key, worker: worker, now: now, into: &out)
            } else if let idle = configuration.sessionIdleTimeout, record.busy == nil, record.held.isEmpty,
                      record.move == nil, now.since(record.lastActivity) >= idle
            {
                if record.lost { forgetLost(key, now: now, into: &out) } else {
                    endSession(key, reason: .idle, now: now, into: &out)
                }
            }
        }
    }

    /// How often the session table is scanned for expiries (a quarter of it while sessions are moving).
    static let sessionScanInterval = TimeSpan.seconds(1)

    private mutating func expireHeld(_ key: SessionKey, timeout: TimeSpan, now: Instant, into out: inout [BrokerAction]) {
        while let oldest = sessions[key]?.held.first, now >= oldest.receivedAt + timeout,
              let request = sessions.takeHeld(key)
        {
            fail(request, .expired, "queued longer than \(timeout.milliseconds) ms", now: now, into: &out)
        }
        noteQueueDepth()
    }

    /// A session on a worker being replaced without handoff outlived `--session-drain-timeout`: it ends, and its
    /// next request is answered `session-lost`.
    private mutating func drainTimedOut(_ key: SessionKey, worker: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard let record = sessions[key] else { return }
        stats.sessionsDrainTimedOut += 1
        stats.sessionsEnded += 1
        sendEnd(key, to: worker, into: &out)
        recordEnd(key, worker: worker, reason: .drainTimeout, requests: record.requests, now: now, into: &out)
        sessions.markLost(key, from: worker, now: now, endRecorded: true)
        if record.busy == nil && !record.held.isEmpty { answerLost(key, now: now, into: &out) }
        forgetLostBeyondBound(now: now, into: &out)
        noteSessions()
        maybeDrained(worker, into: &out)
    }

    /// Keeps the session gauges current.
    mutating func noteSessions() {
        stats.sessionsOpen = sessions.liveCount
        stats.lostSessionKeys = sessions.lostCount
    }
}
