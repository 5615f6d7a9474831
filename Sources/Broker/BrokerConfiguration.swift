import BatonProtocol

/// Policy settings of the broker's state machine.
public struct BrokerConfiguration: Sendable, Equatable {
    /// Requests held in the broker's own queue; at the bound the frontend is not read (back-pressure).
    public var maxQueued: Int = 10_000
    /// A queued request older than this gets an `expired` error reply; `nil`: wait forever.
    public var queueTimeout: TimeSpan? = .seconds(30)
    /// How often heartbeats are sent to heartbeating workers.
    public var heartbeatInterval: TimeSpan = .seconds(1)
    /// Heartbeat intervals a heartbeating worker may stay silent before it is removed.
    public var heartbeatLiveness: Int = 3
    /// A request served longer than this marks its worker hung: the worker is dropped (and its process ended
    /// by the supervisor), and the request is retried or answered `worker-died`. `nil`: no limit.
    ///
    /// The default, 30 s, is finite so that a worker that cannot answer (a stopped REQ worker, one whose reply
    /// was lost, one that answers with the wrong token) never holds a request, and a client, forever.
    public var requestTimeout: TimeSpan? = .seconds(30)
    /// How many times a request whose worker was lost is sent to another worker (0: answer `worker-died`).
    public var retryOnCrash: Int = 0

    /// Largest request or reply, in bytes summed over its frames, the broker passes on; a larger one is
    /// answered `too-large`. `nil`: no limit (the server sets it from its per-frame limit).
    public var maxMessageBytes: Int?

    /// A session without a request for this long ends (its worker is told END); `nil`: never.
    public var sessionIdleTimeout: TimeSpan? = .seconds(600)
    /// How long a worker being replaced without handoff keeps its sessions before the remaining ones end
    /// as `drain-timeout` (their next requests get `session-lost`).
    public var sessionDrainTimeout: TimeSpan = .seconds(300)
    /// How long a session's EXPORT or IMPORT may take before the move is abandoned (the session stays put).
    public var handoffTimeout: TimeSpan = .seconds(5)
    /// Sessions open at once; a request that would open one more is answered `too-many-sessions`.
    public var maxSessions = 100_000

    /// Whether request and worker events are collected in ``BrokerCore/history`` for the history database.
    public var recordHistory = false

    /// The default settings.
    public init() {}

    /// Silence after which a heartbeating worker is removed.
    public var livenessWindow: TimeSpan { heartbeatInterval * UInt64(max(heartbeatLiveness, 1)) }
}
