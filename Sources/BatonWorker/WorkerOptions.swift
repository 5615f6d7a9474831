import BatonProtocol

/// How a worker talks to the broker.
public struct WorkerOptions: Sendable {
    /// Heartbeat protocol (DEALER framing, READY `0x01`, HEARTBEAT `0x02` each interval, also while busy).
    /// Without it the worker frames its messages like a REQ socket and sends `READY`.
    public var heartbeats = true
    /// Milliseconds between heartbeats.
    public var heartbeatIntervalMilliseconds = 1_000
    /// Heartbeat intervals without a word from the broker after which the broker counts as lost.
    public var heartbeatLiveness = 3
    /// Milliseconds a stopping worker waits for the requests it holds before it exits anyway.
    public var drainTimeoutMilliseconds = 30_000
    /// How many requests the worker serves at once (1…1,000, `WireProtocol.maxCapacity`), each on its own handler
    /// thread; declared in READY (docs/protocol.md, 2.4). Above 1 it needs ``heartbeats`` (DEALER framing).
    public var capacity = 1
    /// Leave after this many handler errors in a row (requests whose handler threw, with no request served well
    /// between them); nil, the default: never. Leaving, the worker gives back every request it holds but has
    /// not started (RETURN, docs/protocol.md 2.3) for the broker to serve elsewhere, answers the ones running,
    /// says DISCONNECT, and ``WorkerRuntime/run(sessions:_:)`` returns ``WorkerExit/handlerErrors(count:)``.
    public var maxHandlerErrors: Int?
    /// Whether the text of a `handler-error` reply carries the thrown error's description. Off by default: the
    /// client learns only that the handler failed, and the details stay in the worker's log.
    public var revealHandlerErrors = false
    /// The signals that make ``WorkerRuntime/run(sessions:_:)`` stop gracefully: take no new request, answer
    /// the ones held (within ``drainTimeoutMilliseconds``), say DISCONNECT and return
    /// ``WorkerExit/terminated(signal:)``.
    ///
    /// Empty in ``init()``: the runtime installs no process-wide signal handler unless asked, so a SIGTERM
    /// keeps its usual effect (the process ends at once, and the broker answers what it held `worker-died`).
    /// **``init(environment:)`` sets both** (SIGTERM and SIGINT), because that is the supervisor's contract: it
    /// stops workers with SIGTERM and expects them to answer what they hold. Set it to `[]` there (and call
    /// ``WorkerRuntime/stop()`` from a handler of your own) if your program handles those signals itself.
    /// `run` installs these handlers when it starts and puts back the ones they replaced when it returns; one
    /// runtime at a time may use them in a process.
    public var stopSignals: Set<StopSignal> = []

    /// The defaults above.
    public init() {}

    /// The defaults, with the heartbeat interval and liveness the supervisor passed in the environment, and
    /// ``stopSignals`` set to SIGTERM and SIGINT: what a worker the supervisor manages needs.
    public init(environment: WorkerEnvironment) {
        if let interval = environment.heartbeatIntervalMilliseconds { heartbeatIntervalMilliseconds = interval }
        if let liveness = environment.heartbeatLiveness { heartbeatLiveness = liveness }
        stopSignals = Set(StopSignal.allCases)
    }
}

/// Why ``WorkerRuntime/run(sessions:_:)`` returned.
public enum WorkerExit: Sendable, Equatable {
    /// A signal of ``WorkerOptions/stopSignals`` arrived, and the requests held then were answered.
    case terminated(signal: Int32)
    /// ``WorkerRuntime/stop()`` was called, and the requests held then were answered.
    case stopped
    /// The broker stopped sending heartbeats (its supervisor is gone).
    case brokerLost
    /// A handler asked to stop (``WorkerReply/replyAndStop(_:)``), and the requests held then were answered.
    case stopRequested
    /// `count` handlers in a row threw (``WorkerOptions/maxHandlerErrors``): the requests not started were
    /// given back to the broker, the ones running were answered.
    case handlerErrors(count: Int)
}
