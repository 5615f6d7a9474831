import BatonProtocol
import DequeModule

/// The broker's policy as a pure state machine: dispatch (LRU, or shortest expected delay for workers of
/// higher capacity), the bounded queue and its expiry, worker liveness and what happens to the requests of a
/// worker that is lost.
///
/// Events come in as method calls with the current monotonic time; what must be sent comes out as
/// ``BrokerAction`` values appended to the caller's buffer. No I/O, no clock, no threads: the I/O loop in
/// ``BrokerServer`` feeds it, and tests drive it with a fake clock.
public struct BrokerCore {
    /// The policy settings.
    public let configuration: BrokerConfiguration
    /// Counters and gauges.
    public internal(set) var stats = BrokerStats()
    /// Outcomes and latency histograms, for `/metrics`.
    public internal(set) var metrics = BrokerMetrics()

    var queue: Deque<PendingRequest> = []
    /// The known workers, with the idle queue, free capacity and counts derived from them.
    var workers = WorkerTable()
    /// The last ``WorkerRecord/lastUsed`` stamp given out.
    var useSequence: UInt64 = 0
    var nextRequestID = RequestID(1)
    var nextHeartbeatAt = Instant.zero
    var stopping = false
    /// Managed workers dropped as hung or silent, or whose process ended, with the time until which whatever
    /// they send is ignored (counted as stale): ``banDuration`` from the drop or the end. External workers are
    /// never banned: a late reply brings one back (its REQ socket is waiting for the next request).
    var banned: [WorkerID: Instant] = [:]
    /// How long a dropped or ended managed worker is ignored.
    static let banDuration = TimeSpan.seconds(30)
    /// Past this many entries, expired bans are pruned when another is added (bans expire in ``banDuration``,
    /// so the table holds at most the workers dropped or ended within that time, plus this).
    static let bannedPruneThreshold = 64
    /// Routing ids of workers whose process the supervisor started and has not yet reported ended.
    var managed: Set<WorkerID> = []
    /// Busy workers whose connection closed, waiting for the outcome (see ``connectionClosed(_:now:into:)``).
    var connectionLosses: [WorkerID: ConnectionLoss] = [:]
    var nextTimeoutCheckAt = Instant.zero
    /// The longest time between looks for requests in flight past ``BrokerConfiguration/requestTimeout`` (a
    /// tenth of the timeout when that is shorter).
    static let longestTimeoutCheckInterval = TimeSpan.milliseconds(100)
    /// Open sessions (docs/protocol.md, "Sessions").
    var sessions = SessionTable()
    /// Sessions of draining workers moving to their successors, by old worker.
    var moves: [WorkerID: SessionMoves] = [:]
    /// When the session table is next scanned for expiries.
    var nextSessionScanAt = Instant.zero
    /// The generation of each managed worker's code, as the supervisor reported it.
    var generations: [WorkerID: GenerationID] = [:]
    /// During a rolling update: the generation new sessions open on (``preferSessions(onGeneration:)``).
    var sessionGeneration: GenerationID?

    /// Creates a broker with no workers and an empty queue.
    public init(configuration: BrokerConfiguration = BrokerConfiguration(), firstRequestID: UInt64 = 1) {
        self.configuration = configuration
        nextRequestID = RequestID(max(firstRequestID, 1))
    }

    /// Whether the frontend should be read: the queue is below its bound and the broker is not stopping.
    public var acceptsRequests: Bool { queue.count + sessions.heldCount < configuration.maxQueued && !stopping }

    /// The known workers, by routing id.
    public var knownWorkers: [WorkerID: WorkerRecord] { workers.dictionary }

    /// What `status` shows of each known worker.
    public var workerSummaries: [WorkerSummary] {
        workers.values.map {
            WorkerSummary(id: $0.id, busy: $0.isBusy, served: $0.served, heartbeating: $0.heartbeating,
                          inFlight: $0.inFlight.count, capacity: $0.capacity, managed: managed.contains($0.id),
                          sessions: sessions.count(on: $0.id))
        }
    }

    /// Routing ids of workers that can take a request and hold none: those of capacity 1 in LRU order (the
    /// one that has waited longest first), then those of higher capacity, least recently used first.
    public var idleWorkers: [WorkerID] {
        Array(workers.idle) + workers.values.filter { $0.capacity > 1 && !$0.isBusy && !$0.isDraining }
            .sorted { $0.lastUsed < $1.lastUsed }.map(\.id)
    }

    // MARK: Clients

    /// A message arrived on the frontend: `[envelope…][""][body…]`.
    public mutating func clientMessage(_ frames: [[UInt8]], now: Instant, into out: inout [BrokerAction]) {
        clientMessage(ClientMessage(frames), now: now, into: &out)
    }

    /// A frontend message, read: the broker's policy for it.
    mutating func clientMessage(_ message: ClientMessage, now: Instant, into out: inout [BrokerAction]) {
        switch message {
        case .malformed(let count):
            stats.malformedClientMessages += 1
            out.append(.log(.malformedClientMessage(frames: count)))
        case .request(let frames, let delimiter, let session):
            let request = PendingRequest(id: nextRequestID, frames: frames, delimiter: delimiter, receivedAt: now)
            nextRequestID = nextRequestID.next
            clientRequest(request, session: session, now: now, into: &out)
        }
    }

    /// A client's request, read and given its id.
    private mutating func clientRequest(_ request: PendingRequest, session: ClientMessage.SessionMarker, now: Instant,
                                        into out: inout [BrokerAction]) {
        stats.requestsReceived += 1
        if configuration.recordHistory {
            out.append(.record(.requestReceived(id: request.id, client: request.client, bytes: request.bodySize,
                                                at: now)))
        }
        if stopping {
            // Read while shutting down (from ZeroMQ's pipes): answered at once, never left unanswered.
            return fail(request, .shuttingDown, "the broker is shutting down", now: now, into: &out)
        }
        if let limit = configuration.maxMessageBytes, request.clientBytes > limit {
            return fail(request, .tooLarge, "the request is larger than \(limit) bytes", now: now, into: &out)
        }
        switch session {
        case .none:
            break
        case .key(let key):
            return sessionRequest(request, key: key, now: now, into: &out)
        case .invalid:
            stats.badSessionRequests += 1
            return fail(request, .badSession, "BATON-SESSION needs a key of 1 to \(WireProtocol.maxSessionKeyBytes) "
                        + "bytes and a body after it", now: now, into: &out)
        }
        queue.append(request)
        noteQueueDepth()
        pump(now: now, into: &out)
    }

    /// A reply could not be delivered to its client (it disconnected, or its queue is full).
    public mutating func replyUndeliverable() {
        stats.unroutableReplies += 1
    }

    // MARK: Time

    /// The next monotonic time at which ``tick(now:into:)`` has work (an expiry or a heartbeat), if any.
    public var nextDeadline: Instant? {
        var deadline: Instant? = nil
        if let timeout = configuration.queueTimeout, let oldest = queue.first {
            deadline = oldest.receivedAt + timeout
        }
        if workers.heartbeatingCount > 0 {
            deadline = Instant.earliest(deadline, nextHeartbeatAt)
        }
        if configuration.requestTimeout != nil && stats.inFlight > 0 {
            deadline = Instant.earliest(deadline, nextTimeoutCheckAt)
        }
        if let loss = connectionLossDeadline {
            deadline = Instant.earliest(deadline, loss)
        }
        if let scan = sessionDeadline {
            deadline = Instant.earliest(deadline, scan)
        }
        return deadline
    }

    /// Time passed: expire old queued requests, send heartbeats, remove silent workers.
    public mutating func tick(now: Instant, into out: inout [BrokerAction]) {
        if let timeout = configuration.queueTimeout {
            while let oldest = queue.first, now >= oldest.receivedAt + timeout {
                queue.removeFirst()
                fail(oldest, .expired, "queued longer than \(timeout.milliseconds) ms", now: now, into: &out)
            }
            noteQueueDepth()
        }
        if workers.heartbeatingCount > 0 && now >= nextHeartbeatAt {
            nextHeartbeatAt = now + configuration.heartbeatInterval
            if !banned.isEmpty { banned = banned.filter { $0.value > now } }
            let window = configuration.livenessWindow
            let silent = workers.values.filter { $0.heartbeating && now.since($0.lastSeen) > window }.map(\.id)
            for id in silent {
                stats.workersExpired += 1
                dropHung(id, reason: .silent(window: window), now: now, into: &out)
            }
            for worker in workers.values where worker.heartbeating {
                out.append(.heartbeat(worker: worker.id))
            }
        }
        if let timeout = configuration.requestTimeout, stats.inFlight > 0, now >= nextTimeoutCheckAt {
            nextTimeoutCheckAt = now + min(timeout / 10 + TimeSpan(nanoseconds: 1), Self.longestTimeoutCheckInterval)
            let hung = workers.values.filter { $0.oldestDispatch.map { now.since($0) >= timeout } ?? false }.map(\.id)
            for id in hung {
                stats.workersHung += 1
                dropHung(id, reason: .requestTimedOut(timeout: timeout), now: now, into: &out)
            }
        }
        if !connectionLosses.isEmpty { settleConnectionLosses(now: now, into: &out) }
        if !sessions.isEmpty { sessionTick(now: now, into: &out) }
        pump(now: now, into: &out)
    }

    /// The worker's process has ended: remove it now (its requests are retried or answered `worker-died`)
    /// rather than waiting for a heartbeat to go missing, and forget any ban on its id.
    public mutating func workerProcessEnded(_ id: WorkerID, reason: WorkerLossReason, now: Instant,
                                            into out: inout [BrokerAction]) {
        // Routing ids are never reused, and ZeroMQ may still hold what the process sent before it ended: a
        // READY from it must not register a worker that no longer exists.
        if banned.count >= Self.bannedPruneThreshold { banned = banned.filter { $0.value > now } }
        banned[id] = now + Self.banDuration
        managed.remove(id)
        generations[id] = nil
        removeWorker(id, reason: reason, now: now, into: &out)
    }

    // MARK: Shutdown

    /// Stops taking requests and answers every queued one with `shutting-down`.
    ///
    /// Requests in flight stay with their workers; ``inFlightCount`` tells when they are done. Requests read
    /// from now on are answered `shutting-down` at once.
    public mutating func beginShutdown(now: Instant, into out: inout [BrokerAction]) {
        stopping = true
        if !sessions.isEmpty { endAllSessions(now: now, into: &out) }
        while let request = queue.popFirst() {
            fail(request, .shuttingDown, "the broker is shutting down", now: now, into: &out)
        }
        noteQueueDepth()
    }

    /// Requests being served by workers now.
    public var inFlightCount: Int { stats.inFlight }

    /// Answers every request still in flight with `worker-died`: the shutdown's drain timeout passed before
    /// its worker answered (the worker may have done part of the work). A reply that comes later is stale.
    public mutating func failInFlight(reason: String, now: Instant, into out: inout [BrokerAction]) {
        for id in workers.values.map(\.id).sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) where workers[id]?.isBusy == true {
            connectionLosses[id] = nil
            for request in releaseAll(from: id, into: &out) {
                fail(request, .workerDied, reason, now: now, into: &out)
            }
        }
        noteIdleWorkers()
    }

    // MARK: Internals

    /// Removes a worker that hung or went silent and asks for its process to end. A managed worker is
    /// ignored until its process has ended; an external one is taken back by its next READY or (late) reply.
    private mutating func dropHung(_ id: WorkerID, reason: WorkerLossReason, now: Instant, into out: inout [BrokerAction]) {
        if managed.contains(id) { banned[id] = now + Self.banDuration }
        out.append(.worker(.hung(worker: id, reason: reason)))
        removeWorker(id, reason: reason, now: now, into: &out)
    }

    /// Puts a request back at the front of the queue (its worker was lost before answering).
    /// During a shutdown nothing is dispatched any more, so the request is answered `shutting-down` instead (it
    /// was never started: its dispatch failed, or its worker gave it back).
    mutating func requeue(_ request: PendingRequest, now: Instant, into out: inout [BrokerAction]) {
        guard !stopping else {
            return fail(request, .shuttingDown, "the broker is shutting down", now: now, into: &out)
        }
        queue.prepend(request)
        noteQueueDepth()
        if configuration.recordHistory { out.append(.record(.requestRequeued(id: request.id, at: now))) }
    }

    /// Answers a request with a `BATON-ERR` reply.
    mutating func fail(_ request: PendingRequest, _ code: BatonErrorCode, _ text: String, now: Instant,
                       into out: inout [BrokerAction]) {
        stats.errorReplies += 1
        metrics.failed(request, code: code, now: now)
        if configuration.recordHistory { out.append(.record(.requestFailed(id: request.id, code: code, at: now))) }
        switch code {
        case .expired: stats.expired += 1
        case .workerDied: stats.workerDied += 1
        case .tooLarge: stats.tooLarge += 1
        case .badReply, .shuttingDown, .sessionLost, .badSession, .tooManySessions: break
        }
        out.append(.reply(envelope: request.envelope, body: code.body(text)[...], request: request.id))
        if request.session != nil { sessionRequestFinished(request, code: code, now: now, into: &out) }
    }

    mutating func noteQueueDepth() {
        let depth = queue.count + sessions.heldCount
        stats.queueDepth = depth
        if depth > stats.maxQueueDepth { stats.maxQueueDepth = depth }
    }
}
