/// Why a worker process ended, as recorded in the `worker.exit_reason` column.
public enum WorkerExitReason: String, Sendable, Equatable, CaseIterable, Codable {
    /// Stopped on purpose: a shutdown, or a new worker whose reload was abandoned.
    case stopped
    /// Exited or was killed without being asked to.
    case crashed
    /// Held a request past the request timeout, or went silent, and was ended.
    case hung
    /// Retired by a rolling update: a worker of the new generation took its slot.
    case replaced
    /// Retired by the rollback of a failed rolling update.
    case rolledBack = "rolled-back"
    /// Said DISCONNECT, then exited with status 0 without being asked: it left on purpose, not a crash.
    case disconnected
    /// An external worker whose connection was gone when the broker sent to it.
    case unreachable
    /// Still running when its supervisor died (set by the next supervisor on the same state directory).
    case abandoned
}

/// The state of a generation of the worker code, as recorded in the `generation.state` column.
public enum GenerationState: String, Sendable, Equatable, CaseIterable, Codable {
    /// Serving in every slot.
    case active
    /// A rolling update to it is under way.
    case rolling
    /// Its rolling update was rolled back.
    case failed
    /// Replaced by a newer generation.
    case retired
}

/// The kind of a supervisor event, as recorded in the `event.kind` column.
public enum SupervisorEventKind: String, Sendable, Equatable, CaseIterable, Codable {
    /// The supervisor started serving.
    case supervisorStarted = "supervisor-started"
    /// The supervisor stopped after a graceful shutdown.
    case supervisorStopped = "supervisor-stopped"
    /// A slot crashed too often and gets no more restarts.
    case slotFailed = "slot-failed"
    /// A worker process could not be started.
    case spawnFailed = "spawn-failed"
    /// A rolling update began.
    case reloadStarted = "reload-started"
    /// A rolling update finished: the new generation serves in every slot.
    case reloadFinished = "reload-finished"
    /// A rolling update failed and the previous generation was restored.
    case reloadRolledBack = "reload-rolled-back"
}

/// The status of a request row, as recorded in the `request.status` column.
public enum RequestStatus: String, Sendable, Equatable, CaseIterable, Codable {
    /// Waiting in the broker's queue.
    case queued
    /// Sent to a worker, not yet answered.
    case inFlight = "in_flight"
    /// Answered by a worker.
    case replied
    /// Answered with a `BATON-ERR` reply.
    case failed
    /// Still open when its supervisor died; closed by the next one.
    case abandoned
}

/// How a session ended, as recorded in the `session.end_reason` column.
public enum SessionEndReason: String, Sendable, Equatable, CaseIterable, Codable {
    /// The worker ended it (END `0x04`).
    case ended
    /// No request came for `--session-idle-timeout`.
    case idle
    /// Its worker was lost (crashed, hung, silent or disconnected); its next request got `session-lost`.
    case lost
    /// Its worker was being replaced without handoff and `--session-drain-timeout` passed.
    case drainTimeout = "drain-timeout"
    /// The broker shut down.
    case shutdown
}
