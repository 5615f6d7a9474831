import BatonProtocol

/// A step of a rolling update, as data: ``PoolCore`` emits it, the control protocol carries it, and the
/// supervisor's log and `baton reload` put it into words (``description``, in `ReloadProgress+Words.swift`).
///
/// On the wire each step is an object named by its case, e.g. `{"starting":{"slot":1,"generation":2}}`.
public enum ReloadProgress: Sendable, Equatable, Codable {
    /// The update began: `slots` slots roll to `generation`, each new worker started before (surge) or after
    /// the old one stops.
    case began(slots: Int, generation: GenerationID, surge: Bool)
    /// A worker of `generation` is starting in `slot`.
    case starting(slot: Int, generation: GenerationID)
    /// Without surge: the slot's old worker drains before its replacement starts.
    case drainingFirst(slot: Int)
    /// The slot's new worker said READY; with `drainingOld`, the old one now drains.
    case newWorkerReady(slot: Int, drainingOld: Bool)
    /// The slot's old worker is no longer waited for (``DrainEnd``): the new worker takes the slot.
    case oldWorkerDone(slot: Int, end: DrainEnd)
    /// Without surge: the slot's old worker is no longer waited for and is stopped; a worker of `generation`
    /// starts.
    case oldWorkerStopped(slot: Int, end: DrainEnd, starting: GenerationID)
    /// The update failed and rolls back.
    case rollingBack(failure: ReloadFailure)
    /// A worker of the previous generation could not be restored in `slot`: the slot stays as it is.
    case restoreFailed(slot: Int, cause: ReloadFailure.Cause)
    /// The rollback's time ran out before `slot`'s restored worker said READY: the slot keeps its worker of
    /// generation `keeps`.
    case restoreTimedOut(slot: Int, keeps: GenerationID)
    /// The rollback's time ran out while `slot`'s worker of generation `stopping` drained: it is stopped anyway.
    case restoreDrainTimedOut(slot: Int, stopping: GenerationID)
    /// The broker moved the sessions of an old worker (named by its slot when known, else its id): `moved`
    /// moved (to the restored worker when `toRestored`), `failed` stay on the old worker, `lost` went with it.
    case sessionsMoved(slot: Int?, workerID: String, moved: Int, failed: Int, lost: Int, toRestored: Bool)
    /// The update still waits: repeated every few seconds while a step waits.
    case waiting(ReloadWait)
}

/// Why a slot's old worker stopped being waited for during a rolling update.
public enum DrainEnd: Sendable, Equatable, Codable {
    /// The broker reports it holds no request and no session.
    case drained
    /// The drain allowance passed.
    case timedOut
    /// Its process ended on its own, this way.
    case exited(exit: ProcessExit)
}

/// Why a rolling update rolled back: what went wrong with the new worker of which slot.
public struct ReloadFailure: Sendable, Equatable, Codable {
    /// What went wrong with a new (or restored) worker.
    public enum Cause: Sendable, Equatable, Codable {
        /// Its process could not be started (the launcher's reason, from the operating system).
        case spawnFailed(reason: String)
        /// Its process ended, before or after it said READY.
        case exited(exit: ProcessExit, afterReady: Bool)
        /// It sent no READY within the ready timeout (in seconds).
        case noReady(timeoutSeconds: Double)
    }

    /// The slot whose new worker failed.
    public var slot: Int
    /// What went wrong.
    public var cause: Cause

    /// Creates a failure.
    public init(slot: Int, cause: Cause) {
        self.slot = slot
        self.cause = cause
    }
}

/// How a rolling update ended.
public enum ReloadOutcome: Sendable, Equatable, Codable {
    /// The new generation serves in every one of `slots` slots; `previous` is retired.
    case succeeded(generation: GenerationID, previous: GenerationID, slots: Int)
    /// It failed and the previous generation was restored.
    case rolledBack(generation: GenerationID, previous: GenerationID, failure: ReloadFailure)
    /// The supervisor began shutting down first.
    case interrupted(generation: GenerationID, previous: GenerationID)

    /// Whether the new generation is active.
    public var succeeded: Bool {
        switch self {
        case .succeeded: true
        case .rolledBack, .interrupted: false
        }
    }

    /// The generation the update rolled to.
    public var generation: GenerationID {
        switch self {
        case .succeeded(let generation, _, _), .rolledBack(let generation, _, _), .interrupted(let generation, _):
            generation
        }
    }

    /// The generation that served before it.
    public var previous: GenerationID {
        switch self {
        case .succeeded(_, let previous, _), .rolledBack(_, let previous, _), .interrupted(_, let previous):
            previous
        }
    }
}
