import BatonProtocol

/// The managed worker pool as a pure state machine: which slot runs which process, restarts with backoff,
/// hung workers, and stopping. The I/O thread around it spawns, signals and reaps; tests drive it with a
/// fake clock and a seeded random generator.
public struct PoolCore {
    struct Slot {
        let number: Int
        var state: SlotState = .stopped
        var pid: Int32?
        var workerID: WorkerID?
        var generation: GenerationID
        var spawnedAt = Instant.zero
        var restarts = 0
        var lastExit: String?
        var failure: String?
        var restartAt: Instant?
        var killAt: Instant?
        var tracker: CrashTracker
        /// The next generation's worker for this slot, while a reload starts it.
        var incoming: Incoming?
        /// Its worker said DISCONNECT: an exit with status 0 that follows is not a crash.
        var leaving = false
    }

    struct Incoming {
        let workerID: WorkerID
        let generation: GenerationID
        var pid: Int32?
        var spawnedAt: Instant
        /// It said READY (while the slot's old worker drains, it is still incoming).
        var ready = false
    }

    /// A process being stopped on purpose (replaced or rolled back): its exit is expected.
    struct Retiring {
        let workerID: WorkerID
        let slot: Int
        let reason: WorkerExitReason
        var killAt: Instant?
    }

    /// The settings.
    public let configuration: PoolConfiguration
    var slots: [Slot]
    var nextWorker = 1
    var retiring: [Int32: Retiring] = [:]
    var reload: ReloadState?
    /// Whether the pool is shutting down.
    public internal(set) var stopping = false

    /// Creates a pool with every slot empty.
    public init(configuration: PoolConfiguration) {
        self.configuration = configuration
        slots = (0..<max(configuration.workers, 0)).map {
            Slot(number: $0 + 1, generation: configuration.generation,
                 tracker: CrashTracker(policy: configuration.restart))
        }
    }

    /// Starts a worker in every slot.
    public mutating func start(now: Instant) -> [PoolAction] {
        slots.indices.map { spawn($0, now: now) }
    }

    /// The I/O thread started the process for a slot.
    public mutating func spawned(slot: Int, workerID: WorkerID, pid: Int32, now: Instant) {
        guard let index = index(ofSlot: slot) else { return }
        if slots[index].incoming?.workerID == workerID {
            slots[index].incoming?.pid = pid
            slots[index].incoming?.spawnedAt = now
            return
        }
        slots[index].pid = pid
        slots[index].spawnedAt = now
    }

    /// The process for a slot could not be started (`errno` from fork or exec).
    public mutating func spawnFailed(slot: Int, workerID: WorkerID, reason: String, permanent: Bool, now: Instant,
                                     using random: inout some RandomNumberGenerator) -> [PoolAction] {
        guard let index = index(ofSlot: slot) else { return [] }
        if slots[index].incoming?.workerID == workerID {
            slots[index].incoming = nil
            return incomingFailed(index, cause: .spawnFailed(reason: reason), now: now)
        }
        slots[index].workerID = nil
        slots[index].pid = nil
        if permanent || stopping {
            return fail(index, reason: reason)
        }
        return crashed(index, ranFor: .zero, exit: reason, now: now, using: &random)
    }

    /// A worker said READY to the broker.
    public mutating func workerReady(_ workerID: WorkerID, now: Instant) -> [PoolAction] {
        if let index = slots.firstIndex(where: { $0.incoming?.workerID == workerID }) {
            return incomingReady(index, now: now)
        }
        guard let index = slots.firstIndex(where: { $0.workerID == workerID }), slots[index].state == .starting
        else { return [] }
        slots[index].state = .ready
        return []
    }

    /// The broker dropped a worker for holding a request too long: end its process (it is replaced when it
    /// exits).
    public mutating func workerHung(_ workerID: WorkerID, now: Instant) -> [PoolAction] {
        guard let index = slots.firstIndex(where: { $0.workerID == workerID }), let pid = slots[index].pid,
              slots[index].state != .stopping
        else { return [] }
        slots[index].state = .stopping
        slots[index].killAt = now + configuration.stopGrace
        return [.signal(pid: pid, signal: .terminate)]
    }

    /// A worker process ended (reaped) with this exit status.
    public mutating func processExited(pid: Int32, exit: ProcessExit, now: Instant,
                                       using random: inout some RandomNumberGenerator) -> [PoolAction] {
        let reason = exitingWorker(pid: pid, exit: exit)?.reason ?? .crashed
        if let gone = retiring.removeValue(forKey: pid) {
            return [.workerGone(workerID: gone.workerID, reason: .processEnded(gone.reason, exit))]
        }
        if let index = slots.firstIndex(where: { $0.incoming?.pid == pid }), let incoming = slots[index].incoming {
            slots[index].incoming = nil
            return [.workerGone(workerID: incoming.workerID, reason: .processEnded(reason, exit))]
                + incomingFailed(index, cause: .exited(exit: exit, afterReady: incoming.ready), now: now)
        }
        guard let index = slots.firstIndex(where: { $0.pid == pid }) else { return [] }
        var actions: [PoolAction] = []
        if case .draining(let drainingIndex, let workerID, _)? = reload?.step, drainingIndex == index,
           workerID == slots[index].workerID
        {
            // The old worker being drained ended on its own: nothing left to wait for.
            actions.append(.workerGone(workerID: workerID, reason: .processEnded(reason, exit)))
            slots[index].pid = nil
            slots[index].lastExit = exit.description
            return actions + drained(index, .exited(exit: exit), now: now)
        }
        if let id = slots[index].workerID { actions.append(.workerGone(workerID: id, reason: .processEnded(reason, exit))) }
        let ranFor = now.since(slots[index].spawnedAt)
        slots[index].pid = nil
        slots[index].workerID = nil
        slots[index].killAt = nil
        slots[index].lastExit = exit.description
        if stopping {
            slots[index].state = .stopped
            return actions
        }
        switch reason {
        case .disconnected:
            return actions + left(index, now: now)
        case .hung:
            return actions + crashed(index, ranFor: ranFor, exit: "hung, then \(exit)", now: now, using: &random)
        case .crashed, .stopped, .replaced, .rolledBack, .unreachable, .abandoned:
            return actions + crashed(index, ranFor: ranFor, exit: exit.description, now: now, using: &random)
        }
    }

    /// Time passed: restart slots whose backoff is over, SIGKILL workers past their stop grace, and time out
    /// a reload step.
    public mutating func tick(now: Instant) -> [PoolAction] {
        var actions: [PoolAction] = reloadTick(now: now)
        for (pid, process) in retiring {
            if let at = process.killAt, now >= at {
                retiring[pid]?.killAt = nil
                actions.append(.signal(pid: pid, signal: .kill))
            }
        }
        for index in slots.indices {
            if let at = slots[index].restartAt, now >= at, !stopping {
                slots[index].restartAt = nil
                actions.append(spawn(index, now: now))
            }
            if let at = slots[index].killAt, now >= at, let pid = slots[index].pid {
                slots[index].killAt = nil
                actions.append(.signal(pid: pid, signal: .kill))
            }
        }
        return actions
    }

    /// The next time ``tick(now:)`` has something to do.
    public var nextDeadline: Instant? {
        let slotDeadlines = slots.compactMap { [$0.restartAt, $0.killAt].compactMap { $0 }.min() }
        let retiringDeadlines = retiring.values.compactMap(\.killAt)
        return (slotDeadlines + retiringDeadlines + [reload?.deadline].compactMap { $0 }).min()
    }

    /// Stops every worker: SIGTERM now, SIGKILL after the grace period; no more restarts.
    public mutating func beginStop(now: Instant) -> [PoolAction] {
        var actions: [PoolAction] = abortReloadForStop(now: now)
        stopping = true
        for (pid, process) in retiring where process.killAt == nil {
            retiring[pid]?.killAt = now + configuration.stopGrace
            actions.append(.signal(pid: pid, signal: .terminate))
        }
        for index in slots.indices {
            slots[index].restartAt = nil
            if let pid = slots[index].pid {
                if slots[index].state != .stopping || slots[index].killAt == nil {
                    slots[index].killAt = now + configuration.stopGrace
                }
                slots[index].state = .stopping
                actions.append(.signal(pid: pid, signal: .terminate))
            } else if slots[index].state != .failed {
                slots[index].state = .stopped
            }
        }
        return actions
    }

    /// The worker id of a live process, and how its ending is described: the reason it was retired
    /// (`replaced`, `rolled-back`), `stopped` (on shutdown), `hung` (ended after a hang), `disconnected` (said
    /// DISCONNECT, then `exit` is status 0), or `crashed`.
    public func exitingWorker(pid: Int32, exit: ProcessExit? = nil) -> (workerID: WorkerID, reason: WorkerExitReason)? {
        if let process = retiring[pid] { return (process.workerID, process.reason) }
        if let incoming = slots.lazy.compactMap(\.incoming).first(where: { $0.pid == pid }) {
            return (incoming.workerID, stopping ? .stopped : .crashed)
        }
        guard let slot = slots.first(where: { $0.pid == pid }), let workerID = slot.workerID else { return nil }
        if stopping { return (workerID, .stopped) }
        if slot.state == .stopping { return (workerID, .hung) }
        return (workerID, slot.leaving && exit?.isClean == true ? .disconnected : .crashed)
    }

    /// Whether no worker process is left.
    public var allExited: Bool { slots.allSatisfy { $0.pid == nil && $0.incoming?.pid == nil } && retiring.isEmpty }

    /// Pids of live workers (incoming and retiring ones included), with their worker ids.
    public var livePids: [(pid: Int32, workerID: WorkerID)] {
        slots.compactMap { slot in slot.pid.flatMap { pid in slot.workerID.map { (pid, $0) } } }
            + slots.compactMap { slot in slot.incoming.flatMap { incoming in incoming.pid.map { ($0, incoming.workerID) } } }
            + retiring.map { ($0.key, $0.value.workerID) }
    }

    /// The slots as `status` shows them.
    public func status(now: Instant) -> [SlotStatus] {
        let wait = reloadWait(now: now)
        return slots.indices.map { index in
            let slot = slots[index]
            var status = SlotStatus(slot: slot.number, state: slot.state, pid: slot.pid, workerID: slot.workerID?.name,
                                    generation: slot.generation,
                                    uptimeSeconds: slot.pid == nil ? nil : now.since(slot.spawnedAt).seconds,
                                    restarts: slot.restarts, lastExit: slot.lastExit, failure: slot.failure)
            status.incomingGeneration = slot.incoming?.generation
            status.incomingPid = slot.incoming?.pid
            if let wait, wait.slot == slot.number || (wait.step == .rollback && reload?.restoring.contains(index) == true) {
                status.reloadWait = wait
            }
            return status
        }
    }

    // MARK: Internals

    func index(ofSlot slot: Int) -> Int? {
        slots.firstIndex { $0.number == slot }
    }

    mutating func newWorkerID(_ index: Int) -> WorkerID {
        let id = WorkerID("\(configuration.runID)-\(slots[index].number)-\(nextWorker)")
        nextWorker += 1
        return id
    }

    private mutating func spawn(_ index: Int, now: Instant) -> PoolAction {
        let id = newWorkerID(index)
        slots[index].workerID = id
        slots[index].state = .starting
        slots[index].spawnedAt = now
        slots[index].leaving = false
        return .spawn(slot: slots[index].number, workerID: id, generation: slots[index].generation)
    }

    private mutating func crashed(_ index: Int, ranFor: TimeSpan, exit: String, now: Instant,
                                  using random: inout some RandomNumberGenerator) -> [PoolAction] {
        switch slots[index].tracker.workerCrashed(ranFor: ranFor, now: now, using: &random) {
        case .restart(let delay):
            slots[index].state = .backoff
            slots[index].restartAt = now + delay
            slots[index].restarts += 1
            return [.restartScheduled(slot: slots[index].number, after: delay, exit: exit)]
        case .fail(let reason):
            return fail(index, reason: "\(reason); last: \(exit)")
        }
    }

    mutating func fail(_ index: Int, reason: String) -> [PoolAction] {
        slots[index].state = .failed
        slots[index].failure = reason
        slots[index].restartAt = nil
        return [.slotFailed(slot: slots[index].number, reason: reason)]
    }
}
