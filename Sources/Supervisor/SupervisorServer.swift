import BatonProtocol
import Broker
import CBatonSys
import Foundation
import Logging
import ServiceThread
import ZeroMQ

/// The supervisor's I/O: one long-lived thread that starts the workers through a ``WorkerLauncher`` (on this
/// thread, so their parent-death signal, which Linux ties to the spawning thread, fires only when the
/// supervisor dies), restarts them as ``PoolCore`` decides, and answers the control socket.
public final class SupervisorServer: Sendable {
    /// What to run and where.
    public struct Options: Sendable {
        /// The worker command.
        public var command: WorkerCommand
        /// Pool settings.
        public var pool: PoolConfiguration
        /// The state directory (logs, registry, control socket).
        public var stateDirectory: String
        /// The backend endpoint workers connect to.
        public var backend: String
        /// The broker's heartbeat interval, passed to workers as `BATON_HEARTBEAT_INTERVAL_MS` (and under its
        /// old name, `BATON_HEARTBEAT_MS`).
        public var heartbeatMilliseconds: Int
        /// Heartbeat intervals a heartbeating worker may stay silent, passed to workers as
        /// `BATON_HEARTBEAT_LIVENESS`.
        public var heartbeatLiveness = 3
        /// Control endpoint (`status`).
        public var controlEndpoint: String
        /// Where worker and supervisor events are recorded.
        public var history: (any HistorySink)?
        /// The history recorder's counters, for `status`.
        public var historyStats: (@Sendable () -> RecorderStats)?
        /// The highest generation number already used (a reload creates the next one).
        public var latestGeneration = GenerationID(1)
        /// Digest of a generation's executable, for its record (computed off the supervisor thread).
        public var sha256: (@Sendable (String) -> String?)?
        /// Variables every worker gets besides the contract's `BATON_*` ones (CURVE keys for a tcp backend:
        /// `BATON_SERVER_KEY`, `BATON_CLIENT_PUBLIC_KEY`, `BATON_CLIENT_SECRET_KEY`).
        public var workerEnvironment: [String: String] = [:]
        /// Makes the launcher that starts worker processes; called once, on the supervisor thread.
        public var makeLauncher: @Sendable () -> any WorkerLauncher

        /// Creates options.
        public init(command: WorkerCommand, pool: PoolConfiguration, stateDirectory: String, backend: String,
                    heartbeatMilliseconds: Int, controlEndpoint: String) {
            self.command = command
            self.pool = pool
            self.stateDirectory = stateDirectory
            self.backend = backend
            self.heartbeatMilliseconds = heartbeatMilliseconds
            self.controlEndpoint = controlEndpoint
            makeLauncher = { ProcessLauncher(logDirectory: stateDirectory + "/logs") }
        }
    }

    enum Command: Sendable {
        case workerEvent(WorkerEvent)
        case stop(@Sendable () -> Void)
        /// A control reply to send from the supervisor thread (which alone may touch the control socket).
        case controlReply(ControlReply, to: ControlServer.Peer)
        case snapshot(@Sendable (SupervisorMetrics?) -> Void)
        /// The broker's part of a `status` reply, read on the broker thread, for the peer that asked.
        case brokerStatus(BrokerStatus?, for: ControlServer.Peer)
    }

    /// The options.
    public let options: Options
    let broker: BrokerServer
    let logger: Logger
    /// The `baton-supervise` thread, its command queue (which takes broker events even before the start) and
    /// the eventfd that wakes its poll (and that SIGHUP signals).
    let thread: ServiceThread<Command>

    /// Creates a supervisor for a running broker.
    public init(options: Options, broker: BrokerServer, logger: Logger) throws(SupervisorError) {
        self.options = options
        self.broker = broker
        self.logger = logger
        thread = ServiceThread(name: "baton-supervise", queuesBeforeStart: true)
    }

    /// Starts the thread: binds the control socket and spawns every slot (end leftovers of a dead supervisor
    /// with ``WorkerRegistry/endLeftovers(logger:)`` before the broker binds).
    /// Returns once the control socket is bound, or throws why it could not be.
    public func start() throws(SupervisorError) {
        let failure: SupervisorError?
        do {
            failure = try thread.start { [self] started in
                var loop = SupervisorLoop(server: self)
                loop.run(started: started)
                for command in thread.closeQueue() {
                    switch command {
                    case .stop(let done): done()
                    case .snapshot(let reply): reply(nil)
                    case .workerEvent, .controlReply, .brokerStatus: break
                    }
                }
            }
        } catch {
            throw SupervisorError(.control, error.description, errno: error.errno)
        }
        if let failure { throw failure }
    }

    /// Passes a broker event (worker ready, lost, hung) to the supervisor thread. Safe from any thread.
    public func workerEvent(_ event: WorkerEvent) {
        send(.workerEvent(event))
    }

    /// Stops every worker (SIGTERM, SIGKILL after the grace period) and ends the thread.
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !send(.stop { continuation.resume() }) { continuation.resume() }
        }
    }

    /// Starts stopping every worker without waiting (``waitUntilFinished()`` tells when it is done).
    public func requestStop() {
        send(.stop {})
    }

    @discardableResult
    func send(_ command: Command) -> Bool {
        thread.send(command)
    }

    /// Waits until the supervisor thread has ended.
    public func waitUntilFinished() async {
        await thread.waitUntilFinished()
    }
}
