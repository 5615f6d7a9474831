import BatonProtocol

/// The rolling update: for each slot in turn, start the new generation's worker, wait for its READY, drain
/// the old one (no new requests; its request finishes), stop it. A new worker that cannot start, exits, or
/// stays silent rolls the whole update back: its workers are ended and the old generation is restored in
/// every slot already replaced, within the ready timeout plus the drain allowance (a slot not restored by then
/// keeps the worker it has).
extension PoolCore {
    struct ReloadState {
        enum Step {
            case idle
            /// Waiting for slot `index`'s new worker to say READY.
            case starting(index: Int, deadline: Instant)
            /// Waiting for slot `index`'s old worker to finish its request.
            case draining(index: Int, workerID: WorkerID, deadline: Instant)
        }

        let generation: GenerationID
        let previous: GenerationID
        let options: ReloadOptions
        var pending: [Int]
        var replaced: [Int] = []
        var step = Step.idle
        /// Set once the reload failed: slots being put back on the previous generation.
        var failure: ReloadFailure?
        var restoring: Set<Int> = []
        /// When a rollback stops waiting for restored workers.
        var rollbackDeadline: Instant?
        /// The slot number of each old worker asked to drain, for reports that come after it left its slot.
        var oldWorkers: [WorkerID: Int] = [:]

        var deadline: Instant? {
            if failure != nil { return rollbackDeadline }
            return switch step {
            case .idle: nil
            case .starting(_, let deadline), .draining(_, _, let deadline): deadline
            }
        }
    }

    /// Why a reload cannot start.
    public enum ReloadRefusal: Error, Equatable, CustomStringConvertible {
        /// Another reload is running.
        case alreadyRunning(generation: GenerationID)
        /// The pool is shutting down.
        case stopping
        /// There are no managed workers.
        case noWorkers

        /// A sentence for the caller.
        public var description: String {
            switch self {
            case .alreadyRunning(let generation): "a reload to generation \(generation) is already running"
            case .stopping: "the supervisor is shutting down"
            case .noWorkers: "there are no managed workers to reload (--workers 0)"
            }
        }
    }

    /// Whether a reload is running.
    public var reloadInProgress: Bool { reload != nil }

    /// What the running reload waits for now, and how long it will (nil when no reload runs, or between steps).
    public func reloadWait(now: Instant) -> ReloadWait? {
        guard let state = reload else { return nil }
        if state.failure != nil {
            return ReloadWait(step: .rollback, slot: nil, generation: state.generation,
                              secondsLeft: state.rollbackDeadline.map { $0.since(now).seconds })
        }
        func wait(_ step: ReloadWait.Step, _ index: Int, _ deadline: Instant) -> ReloadWait {
            ReloadWait(step: step, slot: slots[index].number, generation: state.generation,
                       secondsLeft: deadline.since(now).seconds)
        }
        switch state.step {
        case .starting(let index, let deadline): return wait(.ready, index, deadline)
        case .draining(let index, _, let deadline): return wait(.drain, index, deadline)
        case .idle: return nil
        }
    }

    /// The generation new workers of crashed slots run, the highest any slot runs.
    public var currentGeneration: GenerationID { slots.map(\.generation).max() ?? configuration.generation }

    /// Why a reload could not start now, if it could not.
    public var reloadRefusal: ReloadRefusal? {
        if let reload { return .alreadyRunning(generation: reload.generation) }
        if stopping { return .stopping }
        if slots.isEmpty { return .noWorkers }
        return nil
    }

    /// Starts rolling every slot to `generation`.
    public mutating func beginReload(to generation: GenerationID, options: ReloadOptions, now: Instant)
        throws(ReloadRefusal) -> [PoolAction]
    {
        if let refusal = reloadRefusal { throw refusal }
        reload = ReloadState(generation: generation, previous: currentGeneration, options: options,
                             pending: Array(slots.indices))
        return [.preferSessions(generation: generation),
                .reloadProgress(.began(slots: slots.count, generation: generation, surge: options.surge))]
            + advance(now: now)
    }

    /// The broker reports a worker holds no request any more.
    public mutating func workerDrained(_ workerID: WorkerID, now: Instant) -> [PoolAction] {
        guard let reload else { return [] }
        if case .draining(let index, let draining, _) = reload.step, draining == workerID {
            return drained(index, .drained, now: now)
        }
        if reload.failure != nil, let index = slots.firstIndex(where: { $0.workerID == workerID }),
           reload.restoring.contains(index), slots[index].incoming?.pid != nil
        {
            return swap(index, reason: .rolledBack, now: now) + finishRollbackIfDone()
        }
        return []
    }

    /// How long a slot's old worker may take to drain: the reload's drain timeout, or the session drain
    /// timeout if longer (a worker keeps sessions it cannot hand off until they end or that timeout passes).
    func drainAllowance(_ options: ReloadOptions) -> TimeSpan {
        configuration.drainAllowance(options)
    }

    /// The broker moved the sessions of a worker being replaced (or tried to): a step for the reload's
    /// caller. Sessions whose move failed stay on the old worker until they end or the session drain timeout;
    /// sessions `lost` went with the old worker, which ended before they could move.
    public func sessionsMoved(from workerID: WorkerID, moved: Int, failed: Int, lost: Int = 0) -> [PoolAction] {
        guard let reload else { return [] }
        let number = slots.first { $0.workerID == workerID }?.number ?? reload.oldWorkers[workerID]
        return [.reloadProgress(.sessionsMoved(slot: number, workerID: workerID.name, moved: moved, failed: failed,
                                               lost: lost, toRestored: reload.failure != nil))]
    }

    // MARK: Steps

    /// Starts the next slot, or finishes.
    mutating func advance(now: Instant) -> [PoolAction] {
        guard var state = reload, state.failure == nil, case .idle = state.step else { return [] }
        guard let index = state.pending.first else {
            reload = nil
            return [.preferSessions(generation: nil),
                    .reloadFinished(.succeeded(generation: state.generation, previous: state.previous,
                                               slots: slots.count))]
        }
        let slot = slots[index].number
        guard !state.options.surge, slots[index].pid != nil, let old = slots[index].workerID else {
            let action = startIncoming(index, generation: state.generation, now: now)
            state.step = .starting(index: index, deadline: now + state.options.readyTimeout)
            reload = state
            return [.reloadProgress(.starting(slot: slot, generation: state.generation)), action]
        }
        state.step = .draining(index: index, workerID: old, deadline: now + drainAllowance(state.options))
        state.oldWorkers[old] = slot
        reload = state
        return [.reloadProgress(.drainingFirst(slot: slot)),
                .drain(workerID: old, successor: nil)]
    }

    mutating func incomingReady(_ index: Int, now: Instant) -> [PoolAction] {
        guard var state = reload else { return [] }
        slots[index].incoming?.ready = true
        if state.failure != nil {
            // A restored previous-generation worker is ready: drain the new one it replaces, then swap back.
            guard state.restoring.contains(index) else { return [] }
            guard let current = slots[index].workerID, slots[index].pid != nil else {
                return swap(index, reason: .rolledBack, now: now) + finishRollbackIfDone()
            }
            return [.drain(workerID: current, successor: slots[index].incoming?.workerID)]
        }
        guard case .starting(let starting, _) = state.step, starting == index else { return [] }
        let slot = slots[index].number
        if state.options.surge, let old = slots[index].workerID, slots[index].pid != nil {
            state.step = .draining(index: index, workerID: old, deadline: now + drainAllowance(state.options))
            state.oldWorkers[old] = slot
            reload = state
            return [.reloadProgress(.newWorkerReady(slot: slot, drainingOld: true)),
                    .drain(workerID: old, successor: slots[index].incoming?.workerID)]
        }
        return [.reloadProgress(.newWorkerReady(slot: slot, drainingOld: false))] + swap(index, reason: .replaced, now: now)
            + advance(now: now)
    }

    /// The old worker of slot `index` is no longer waited for: it holds no request, its time is up, or it is
    /// gone.
    mutating func drained(_ index: Int, _ end: DrainEnd, now: Instant) -> [PoolAction] {
        guard var state = reload, case .draining(let draining, _, _) = state.step, draining == index else { return [] }
        let slot = slots[index].number
        if slots[index].incoming != nil {
            state.step = .idle
            reload = state
            return [.reloadProgress(.oldWorkerDone(slot: slot, end: end))]
                + swap(index, reason: .replaced, now: now) + advance(now: now)
        }
        // No surge: stop the old worker, then start its replacement.
        var actions = retireCurrent(index, reason: .replaced, now: now)
        let action = startIncoming(index, generation: state.generation, now: now)
        state.step = .starting(index: index, deadline: now + state.options.readyTimeout)
        reload = state
        actions += [.reloadProgress(.oldWorkerStopped(slot: slot, end: end, starting: state.generation)), action]
        return actions
    }

    mutating func incomingFailed(_ index: Int, cause: ReloadFailure.Cause, now: Instant) -> [PoolAction] {
        guard var state = reload else { return [] }
        if state.failure != nil {
            // A previous-generation worker could not be restored: leave the slot as it is.
            state.restoring.remove(index)
            reload = state
            return [.reloadProgress(.restoreFailed(slot: slots[index].number, cause: cause))] + finishRollbackIfDone()
        }
        return rollBack(ReloadFailure(slot: slots[index].number, cause: cause), now: now)
    }

    mutating func reloadTick(now: Instant) -> [PoolAction] {
        guard let state = reload, let deadline = state.deadline, now >= deadline else { return [] }
        if state.failure != nil { return rollbackTimedOut(now: now) }
        switch state.step {
        case .starting(let index, _):
            let seconds = state.options.readyTimeout.seconds
            return rollBack(ReloadFailure(slot: slots[index].number, cause: .noReady(timeoutSeconds: seconds)),
                            now: now)
        case .draining(let index, _, _):
            return drained(index, .timedOut, now: now)
        case .idle:
            return []
        }
    }

    mutating func abortReloadForStop(now: Instant) -> [PoolAction] {
        guard let state = reload else { return [] }
        reload = nil
        var actions: [PoolAction] = []
        for index in slots.indices {
            if let incoming = slots[index].incoming, let pid = incoming.pid {
                retiring[pid] = Retiring(workerID: incoming.workerID, slot: slots[index].number, reason: .stopped,
                                         killAt: nil)
            }
            slots[index].incoming = nil
        }
        actions.append(.preferSessions(generation: nil))
        actions.append(.reloadFinished(.interrupted(generation: state.generation, previous: state.previous)))
        return actions
    }

    // MARK: Rollback

    private mutating func rollBack(_ failure: ReloadFailure, now: Instant) -> [PoolAction] {
        guard var state = reload else { return [] }
        state.failure = failure
        var actions: [PoolAction] = [.preferSessions(generation: state.previous),
                                     .reloadProgress(.rollingBack(failure: failure))]
        if case .draining(let index, let old, _) = state.step, slots[index].workerID == old, slots[index].pid != nil {
            // The old worker being drained stays: it takes requests again.
            actions.append(.resume(workerID: old))
        }
        state.step = .idle
        for index in slots.indices {
            if let incoming = slots[index].incoming {
                slots[index].incoming = nil
                if let pid = incoming.pid {
                    retiring[pid] = Retiring(workerID: incoming.workerID, slot: slots[index].number,
                                             reason: .rolledBack, killAt: now + configuration.stopGrace)
                    actions.append(.signal(pid: pid, signal: .terminate))
                }
            }
        }
        // Slots already on the new generation, and a slot whose old worker was stopped (no surge), get a
        // previous-generation worker back.
        var restore = Set(state.replaced)
        if let index = slots.indices.first(where: { slots[$0].pid == nil && slots[$0].state != .failed
                                                    && slots[$0].restartAt == nil }) {
            restore.insert(index)
        }
        state.rollbackDeadline = now + state.options.readyTimeout + drainAllowance(state.options)
        reload = state
        for index in restore.sorted() {
            actions.append(startIncoming(index, generation: state.previous, now: now))
        }
        reload?.restoring = restore
        return actions + finishRollbackIfDone()
    }

    /// The rollback's time is up: a slot whose restored worker is not ready keeps the worker it has (the
    /// restored one is ended); one whose restored worker is ready stops the new generation's worker anyway.
    private mutating func rollbackTimedOut(now: Instant) -> [PoolAction] {
        guard let state = reload else { return [] }
        var actions: [PoolAction] = []
        for index in state.restoring.sorted() {
            let slot = slots[index].number
            guard let incoming = slots[index].incoming, incoming.ready else {
                if let pid = slots[index].incoming?.pid, let incoming = slots[index].incoming {
                    retiring[pid] = Retiring(workerID: incoming.workerID, slot: slot, reason: .rolledBack,
                                             killAt: now + configuration.stopGrace)
                    actions.append(.signal(pid: pid, signal: .terminate))
                }
                slots[index].incoming = nil
                reload?.restoring.remove(index)
                actions.append(.reloadProgress(.restoreTimedOut(slot: slot, keeps: slots[index].generation)))
                continue
            }
            actions.append(.reloadProgress(.restoreDrainTimedOut(slot: slot, stopping: slots[index].generation)))
            actions += swap(index, reason: .rolledBack, now: now)
        }
        return actions + finishRollbackIfDone()
    }

    private mutating func finishRollbackIfDone() -> [PoolAction] {
        guard let state = reload, let failure = state.failure, state.restoring.isEmpty else { return [] }
        reload = nil
        return [.preferSessions(generation: nil),
                .reloadFinished(.rolledBack(generation: state.generation, previous: state.previous, failure: failure))]
    }

    // MARK: Processes

    private mutating func startIncoming(_ index: Int, generation: GenerationID, now: Instant) -> PoolAction {
        let id = newWorkerID(index)
        slots[index].incoming = Incoming(workerID: id, generation: generation, pid: nil, spawnedAt: now)
        slots[index].restartAt = nil
        return .spawn(slot: slots[index].number, workerID: id, generation: generation)
    }

    /// Stops the slot's current worker on purpose (its exit is expected).
    private mutating func retireCurrent(_ index: Int, reason: WorkerExitReason, now: Instant) -> [PoolAction] {
        guard let pid = slots[index].pid, let workerID = slots[index].workerID else { return [] }
        retiring[pid] = Retiring(workerID: workerID, slot: slots[index].number, reason: reason,
                                 killAt: now + configuration.stopGrace)
        slots[index].pid = nil
        slots[index].workerID = nil
        return [.signal(pid: pid, signal: .terminate)]
    }

    /// The incoming worker becomes the slot's worker; the old one (if any) is stopped.
    private mutating func swap(_ index: Int, reason: WorkerExitReason, now: Instant) -> [PoolAction] {
        guard let incoming = slots[index].incoming else { return [] }
        let actions = retireCurrent(index, reason: reason, now: now)
        slots[index].incoming = nil
        slots[index].pid = incoming.pid
        slots[index].workerID = incoming.workerID
        slots[index].generation = incoming.generation
        slots[index].spawnedAt = incoming.spawnedAt
        slots[index].state = .ready
        slots[index].failure = nil
        slots[index].restartAt = nil
        slots[index].tracker.reset()
        if var state = reload {
            if state.failure == nil {
                state.pending.removeAll { $0 == index }
                state.replaced.append(index)
                state.step = .idle
            } else {
                state.restoring.remove(index)
            }
            reload = state
        }
        return actions
    }
}
