import BatonProtocol
import DequeModule

/// A position in ``BrokerCore``'s worker table; valid until a worker is added or removed.
typealias WorkerIndex = Int

extension BrokerCore {
    /// Whether some worker can take a request now: one that is not draining holds fewer than its capacity.
    ///
    /// O(1): the broker keeps the free capacity of its workers as a running total.
    public var hasFreeCapacity: Bool { workers.freeCapacity > 0 }

    /// Sends queued requests to workers while some worker has free capacity.
    ///
    /// When every worker has capacity 1, the idle worker that has waited longest gets the next request (LRU,
    /// O(1) per request). Otherwise each request goes to the worker expected to answer soonest
    /// (``soonestWorker()``, O(workers) per request). A session's first request goes to ``sessionHome()``.
    mutating func pump(now: Instant, into out: inout [BrokerAction]) {
        if workers.multiCapacityCount == 0 {
            while !queue.isEmpty, let longestIdle = workers.idle.first {
                if queue[queue.startIndex].opensSession, let index = sessionHome() {
                    assign(queue.removeFirst(), at: index, now: now, into: &out)
                    continue
                }
                guard let index = workers.index(forKey: longestIdle) else {
                    preconditionFailure("the idle queue holds known workers only")
                }
                assign(queue.removeFirst(), at: index, now: now, into: &out)
            }
        } else {
            while !queue.isEmpty, workers.freeCapacity > 0,
                  let index = (queue[queue.startIndex].opensSession ? sessionHome() : nil) ?? soonestWorker()
            {
                assign(queue.removeFirst(), at: index, now: now, into: &out)
            }
        }
        noteQueueDepth()
        noteIdleWorkers()
    }

    /// Sends a session's request to the worker at `index`, which holds the session and has a free slot
    /// (draining or not).
    mutating func dispatch(_ request: PendingRequest, at index: WorkerIndex, now: Instant,
                           into out: inout [BrokerAction]) {
        assign(request, at: index, now: now, into: &out)
        noteIdleWorkers()
    }

    /// Sends one request to one worker, outside the queue's order (the worker must be known, not draining and
    /// have free capacity; otherwise nothing is sent and the answer is `false`).
    ///
    /// Counts an attempt, records the dispatch (history, metrics, queue wait) and holds the request in the
    /// worker's ``WorkerRecord/inFlight`` until its reply, its loss or its timeout.
    /// A session's request may go to a draining worker (`evenIfDraining`): the worker keeps the sessions it
    /// cannot hand off until they end.
    @discardableResult
    mutating func dispatch(_ request: PendingRequest, to id: WorkerID, evenIfDraining: Bool = false, now: Instant,
                           into out: inout [BrokerAction]) -> Bool {
        guard let index = workers.index(forKey: id),
              evenIfDraining ? workers.values[index].hasFreeCapacity : workers.values[index].freeSlots > 0
        else { return false }
        assign(request, at: index, now: now, into: &out)
        noteIdleWorkers()
        return true
    }

    /// The worker expected to answer a new request soonest, among those that can take one: the least
    /// (in flight + 1) × service time. A worker not measured yet counts as fast as the fastest measured one;
    /// when none is measured, the fewest in flight wins. Ties go to the least recently used.
    func soonestWorker() -> WorkerIndex? {
        var fastest: TimeSpan?
        var measured: (index: WorkerIndex, cost: TimeSpan, lastUsed: UInt64)?
        var unmeasured: (index: WorkerIndex, inFlight: Int, lastUsed: UInt64)?
        var index = workers.values.startIndex
        while index != workers.values.endIndex {
            defer { workers.values.formIndex(after: &index) }
            let serviceTime = workers.values[index].serviceTime
            if let serviceTime { fastest = min(fastest ?? serviceTime, serviceTime) }
            guard workers.values[index].freeSlots > 0 else { continue }
            let inFlight = workers.values[index].inFlight.count
            let lastUsed = workers.values[index].lastUsed
            if let serviceTime {
                let cost = Self.expectedDelay(inFlight: inFlight, serviceTime: serviceTime)
                if measured.map({ cost < $0.cost || (cost == $0.cost && lastUsed < $0.lastUsed) }) ?? true {
                    measured = (index, cost, lastUsed)
                }
            } else if unmeasured.map({ inFlight < $0.inFlight || (inFlight == $0.inFlight && lastUsed < $0.lastUsed) })
                        ?? true {
                unmeasured = (index, inFlight, lastUsed)
            }
        }
        guard let unmeasured else { return measured?.index }
        guard let measured, let fastest else { return unmeasured.index }
        let cost = Self.expectedDelay(inFlight: unmeasured.inFlight, serviceTime: fastest)
        return cost < measured.cost || (cost == measured.cost && unmeasured.lastUsed < measured.lastUsed)
            ? unmeasured.index : measured.index
    }

    /// (in flight + 1) × service time, saturating.
    @inline(__always)
    static func expectedDelay(inFlight: Int, serviceTime: TimeSpan) -> TimeSpan {
        serviceTime * UInt64(inFlight + 1)
    }

    /// Gives a request to the worker at `index` (which has free capacity) and emits its dispatch.
    @inline(__always)
    private mutating func assign(_ pending: PendingRequest, at index: WorkerIndex, now: Instant,
                                 into out: inout [BrokerAction]) {
        var request = pending
        request.attempts += 1
        let workerID = workers.values[index].id
        out.append(.dispatch(worker: workerID, framing: workers.values[index].framing,
                             token: request.id.token, body: request.body))
        useSequence &+= 1
        workers.assign(InFlightRequest(request: request, dispatchedAt: now), at: index, lastUsed: useSequence)
        stats.inFlight += 1
        stats.requestsDispatched += 1
        metrics.dispatched(request, now: now)
        if configuration.recordHistory {
            out.append(.record(.requestDispatched(id: request.id, worker: workerID, attempt: request.attempts,
                                                  at: now)))
        }
        if request.opensSession, let key = request.session { sessionPlaced(key, on: workerID, now: now, into: &out) }
    }

    /// Takes a request back from the worker that holds it (answered, failed or lost), freeing its capacity:
    /// a capacity-1 worker becomes idle again. nil if the worker does not hold that request.
    ///
    /// Call ``reportIfDrained(at:into:)`` once the request is dealt with.
    @inline(__always)
    mutating func release(_ requestID: RequestID, at index: WorkerIndex) -> InFlightRequest? {
        guard let entry = workers.release(requestID, at: index) else { return nil }
        stats.inFlight -= 1
        return entry
    }

    /// Reports ``WorkerEvent/drained(worker:)`` for a draining worker that holds no request and no session
    /// any more (the one place that decides it).
    @inline(__always)
    mutating func reportIfDrained(at index: WorkerIndex, into out: inout [BrokerAction]) {
        if workers.drainingCount > 0 && workers.values[index].isDraining && workers.values[index].inFlight.isEmpty
            && sessions.count(on: workers.values[index].id) == 0
        {
            out.append(.worker(.drained(worker: workers.values[index].id)))
        }
    }

    /// Takes back every request a worker holds, oldest first (see ``release(_:at:)``); a draining worker is
    /// then reported drained.
    mutating func releaseAll(from id: WorkerID, into out: inout [BrokerAction]) -> [PendingRequest] {
        guard let index = workers.index(forKey: id), workers.values[index].isBusy else { return [] }
        let requests = workers.values[index].requests
        for request in requests { _ = release(request.id, at: index) }
        reportIfDrained(at: index, into: &out)
        return requests
    }

    /// Registers a worker that said READY for the first time, with its free capacity.
    mutating func register(_ worker: WorkerRecord) {
        var worker = worker
        useSequence &+= 1
        worker.lastUsed = useSequence
        worker.inFlight.reserveCapacity(worker.capacity)
        workers.add(worker)
        stats.workers = workers.count
    }

    /// Changes the capacity of a known worker that holds no request (it said READY again).
    mutating func changeCapacity(of id: WorkerID, to capacity: Int) {
        guard let index = workers.index(forKey: id) else { return }
        guard workers.values[index].capacity != capacity else { return }
        workers.update(at: index) {
            $0.capacity = capacity
            $0.inFlight.reserveCapacity(capacity)
        }
    }

    /// Removes a worker's record and its share of the bookkeeping; returns it (with the requests it held).
    mutating func unregister(_ id: WorkerID) -> WorkerRecord? {
        guard let worker = workers.remove(id) else { return nil }
        stats.inFlight -= worker.inFlight.count
        stats.workers = workers.count
        return worker
    }

    /// Updates ``BrokerStats/idleWorkers``: workers that can take a request and hold none.
    mutating func noteIdleWorkers() {
        stats.idleWorkers = workers.idleCount
    }
}
