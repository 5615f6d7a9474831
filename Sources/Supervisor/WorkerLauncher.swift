import BatonProtocol

/// What the supervisor asks a launcher to start.
public struct WorkerLaunch: Sendable, Equatable {
    /// The slot the worker fills.
    public var slot: Int
    /// The worker's id, also its ZeroMQ routing id (never reused).
    public var workerID: WorkerID
    /// The generation of the code it runs.
    public var generation: GenerationID
    /// The executable and its arguments.
    public var command: WorkerCommand
    /// The worker's contract variables (`BATON_BACKEND`, `BATON_WORKER_ID`, …), added to the supervisor's own
    /// environment less any `BATON_*` variable of its own.
    public var environment: [String: String]

    /// Creates a launch request.
    public init(slot: Int, workerID: WorkerID, generation: GenerationID, command: WorkerCommand, environment: [String: String]) {
        self.slot = slot
        self.workerID = workerID
        self.generation = generation
        self.command = command
        self.environment = environment
    }
}

/// Why a worker could not be started.
public struct LaunchFailure: Error, Sendable, Equatable {
    /// What went wrong, for the log and the history.
    public var reason: String
    /// Whether trying again cannot help (the executable is missing or not executable).
    public var permanent: Bool

    /// Creates a failure.
    public init(reason: String, permanent: Bool) {
        self.reason = reason
        self.permanent = permanent
    }
}

/// Starts, signals and reaps worker processes for the supervisor: the process side of the pool, apart from
/// its policy, so the supervisor can also run in-process with a fake.
///
/// Used only from the supervisor thread (which must outlive the processes: Linux ties the parent-death
/// signal to the spawning thread).
public protocol WorkerLauncher: AnyObject {
    /// A file descriptor that becomes readable when a launched process may have exited, or -1.
    var exitDescriptor: Int32 { get }
    /// Whether ``reapExited()`` must be called on every turn of the loop (some exit cannot be watched).
    var needsPolling: Bool { get }
    /// Starts a worker; returns its pid.
    func launch(_ launch: WorkerLaunch) throws(LaunchFailure) -> Int32
    /// Sends a signal to a worker and everything in its process group.
    func signal(_ pid: Int32, _ signal: WorkerSignal)
    /// The launched processes that have exited since the last call (never touches other children).
    func reapExited() -> [(pid: Int32, exit: ProcessExit)]
    /// Ends every live process at once (SIGKILL) and releases the launcher's descriptors.
    func close(killing: Bool)
    /// A file descriptor that becomes readable when workers' output is waiting to be written to their logs,
    /// or -1 when the launcher has none.
    var outputDescriptor: Int32 { get }
    /// Moves waiting worker output to the log files, without blocking.
    func pumpOutput()
    /// Housekeeping done on every turn of the supervisor's loop (at least every 250 ms), without blocking.
    func tend()
}

extension WorkerLauncher {
    /// No output to move.
    public var outputDescriptor: Int32 { -1 }
    /// Nothing to do.
    public func pumpOutput() {}
    /// Nothing to do.
    public func tend() {}
}
