import BatonProtocol
import Broker
import Store
import Supervisor

/// Everything `baton serve` is told: where to listen, how the broker and the pool behave, and what to record.
public struct BatonConfiguration: Sendable {
    /// The state directory: lock, ipc sockets, history database, worker logs.
    public var stateDirectory = ".baton"
    /// Endpoint clients connect to.
    public var frontend = "tcp://127.0.0.1:5555"
    /// Endpoint workers connect to; nil: an ipc socket in the state directory.
    public var backend: String?
    /// The broker's policy (queue bound, timeouts, heartbeats, retries).
    public var broker = BrokerConfiguration()
    /// Largest message, in bytes, a client or worker may send.
    public var maxMessageSize: Int64 = 16 << 20
    /// Time in-flight requests get to finish on shutdown.
    public var drainTimeout = TimeSpan.seconds(10)
    /// Managed worker processes (slots); 0 runs the broker alone.
    public var workers = 4
    /// The worker command (required when ``workers`` is above 0).
    public var command: WorkerCommand?
    /// Restart backoff and crash-loop limit.
    public var restart = RestartPolicy()
    /// Time between SIGTERM and SIGKILL when a worker is stopped.
    public var stopGrace = TimeSpan.seconds(5)
    /// Whether generations, workers and requests are recorded in the history database.
    public var history = true
    /// How much request history is kept (nil or ``HistoryRetention/none``: everything).
    public var historyRetention: HistoryRetention? = .standard
    /// Variables every managed worker gets besides the contract's `BATON_*` ones.
    public var workerEnvironment: [String: String] = [:]
    /// CURVE on tcp endpoints, authorised keys, and the bounds on clients and unread replies.
    public var security = BrokerSecurity()
    /// Size-based rotation of the workers' logs (`logs/slot-N.log`) and of the supervisor's own (`logs/baton.log`).
    public var logRotation = RotatingLogFile.Policy()
    /// Where the supervisor's own log lines also go once the state directory is checked (`logs/baton.log`).
    public var logFile: LogFileTarget?
    /// Where `/metrics`, `/healthz` and `/readyz` are served, `HOST:PORT`; nil: nowhere.
    public var metrics: String?
    /// Makes the launcher of worker processes; nil: real processes (``ProcessLauncher``).
    public var makeLauncher: (@Sendable (_ logDirectory: String) -> any WorkerLauncher)?

    /// The defaults.
    public init() {}
}
