import BatonProtocol
/// Settings of the managed worker pool.
public struct PoolConfiguration: Sendable, Equatable {
    /// Number of slots (1…N).
    public var workers: Int
    /// Restart backoff and crash-loop limit.
    public var restart = RestartPolicy()
    /// Time between SIGTERM and SIGKILL when a worker is stopped.
    public var stopGrace = TimeSpan.seconds(5)
    /// Prefix of the worker ids this supervisor mints, unique per supervisor run.
    public var runID: String
    /// The generation the slots start with.
    public var generation = GenerationID(1)
    /// How long an old worker being replaced may keep sessions it cannot hand off: a reload waits at least
    /// this long (and at least its own drain timeout) for the worker to be drained.
    public var sessionDrainTimeout = TimeSpan.zero

    /// Creates a configuration for `workers` slots.
    public init(workers: Int, runID: String) {
        self.workers = workers
        self.runID = runID
    }

    /// How long a slot's old worker may take to drain in a reload: the reload's drain timeout, or the session
    /// drain timeout if longer (a worker keeps sessions it cannot hand off until they end or that timeout passes).
    public func drainAllowance(_ options: ReloadOptions) -> TimeSpan {
        max(options.drainTimeout, sessionDrainTimeout)
    }

    /// The longest a reload with `options` can take: one slot after another, each waits up to the ready
    /// timeout for its new worker and up to the drain allowance for its old one; a rollback waits up to both
    /// once more (it restores its slots at the same time). Stopping a worker is not waited for.
    public func longestReload(_ options: ReloadOptions) -> TimeSpan {
        (options.readyTimeout + drainAllowance(options)) * UInt64(max(workers, 0) + 1)
    }
}

/// Something the supervisor's I/O thread must do, produced by ``PoolCore``.
public enum PoolAction: Sendable, Equatable {
    /// Start a worker process for a slot with this id.
    case spawn(slot: Int, workerID: WorkerID, generation: GenerationID)
    /// Send a signal to a worker's process group.
    case signal(pid: Int32, signal: WorkerSignal)
    /// Tell the broker a worker's process is gone.
    case workerGone(workerID: WorkerID, reason: WorkerLossReason)
    /// A slot stopped restarting.
    case slotFailed(slot: Int, reason: String)
    /// A crashed worker will be restarted after a delay.
    case restartScheduled(slot: Int, after: TimeSpan, exit: String)
    /// A worker that said DISCONNECT exited with status 0: a new one starts after a delay, and
    /// the exit does not count as a crash.
    case workerLeft(slot: Int, after: TimeSpan)
    /// Ask the broker to stop giving a worker requests (it reports when the worker holds none). Its sessions
    /// move to `successor` (the worker replacing it) when both can hand sessions off; without a successor they
    /// stay until they end or the session drain timeout passes.
    case drain(workerID: WorkerID, successor: WorkerID?)
    /// Undo a drain: the worker stays (a reload was rolled back while it was being drained) and takes
    /// requests again.
    case resume(workerID: WorkerID)
    /// New sessions should open on workers of this generation (a reload to it, or a rollback to it, runs);
    /// nil: anywhere.
    case preferSessions(generation: GenerationID?)
    /// A reload moved on (a step for the `baton reload` caller and the log).
    case reloadProgress(ReloadProgress)
    /// A reload ended: the new generation is active, or it was rolled back.
    case reloadFinished(ReloadOutcome)
}

/// How a rolling update proceeds.
public struct ReloadOptions: Sendable, Equatable {
    /// Start the new worker before stopping the old one (capacity does not dip); false stops the old one
    /// first, for workers that hold an exclusive resource (requests wait in the broker meanwhile).
    public var surge = true
    /// How long a new worker has to say READY before the reload is rolled back.
    public var readyTimeout = TimeSpan.seconds(30)
    /// How long an old worker may take to finish its request before it is stopped anyway.
    public var drainTimeout = TimeSpan.seconds(60)

    /// The defaults.
    public init() {}
}

/// The life of a slot.
public enum SlotState: String, Sendable, Codable, CaseIterable {
    /// A worker process was started and has not said READY yet.
    case starting
    /// Its worker said READY.
    case ready
    /// Its worker crashed; a new one starts after the backoff delay.
    case backoff
    /// Too many crashes, or the binary cannot be executed: no more restarts (a reload revives it).
    case failed
    /// Its worker was asked to stop (shutdown or hang) and has not exited yet.
    case stopping
    /// Its worker is gone and the pool is shutting down.
    case stopped
}

/// One slot as `baton status` shows it.
public struct SlotStatus: Sendable, Equatable, Codable {
    /// Slot number, 1…N.
    public var slot: Int
    /// State.
    public var state: SlotState
    /// Pid of its current process, if any.
    public var pid: Int32?
    /// Id of its current worker, if any.
    public var workerID: String?
    /// Generation of its current worker.
    public var generation: GenerationID
    /// Seconds since its current worker started.
    public var uptimeSeconds: Double?
    /// Restarts after crashes or hangs.
    public var restarts: Int
    /// How its last worker ended, e.g. "signal 9" or "exit 3".
    public var lastExit: String?
    /// Why the slot failed, when it did.
    public var failure: String?
    /// Requests its current worker has answered.
    public var served: UInt64 = 0
    /// Requests its current worker holds now.
    public var inFlight = 0
    /// Requests its current worker may hold at once, as its READY declared; 0 while the broker does not know
    /// the worker (it is starting, or the slot is empty).
    public var capacity = 0
    /// Sessions its worker holds now.
    public var sessions = 0
    /// While a reload starts this slot's next worker: its generation (and pid, once spawned).
    public var incomingGeneration: GenerationID?
    /// Pid of the next worker a reload is starting.
    public var incomingPid: Int32?
    /// What a running reload waits for in this slot, and until when (nil when it waits for nothing here).
    public var reloadWait: ReloadWait?

    /// Creates a slot status.
    public init(slot: Int, state: SlotState, pid: Int32?, workerID: String?, generation: GenerationID, uptimeSeconds: Double?,
                restarts: Int, lastExit: String?, failure: String?, served: UInt64 = 0) {
        self.slot = slot
        self.state = state
        self.pid = pid
        self.workerID = workerID
        self.generation = generation
        self.uptimeSeconds = uptimeSeconds
        self.restarts = restarts
        self.lastExit = lastExit
        self.failure = failure
        self.served = served
    }
}
