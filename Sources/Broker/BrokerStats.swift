/// Counters and gauges of a broker, for `status`, logs and tests.
public struct BrokerStats: Sendable, Equatable, Codable {
    /// Well-formed client requests accepted into the queue.
    public var requestsReceived: UInt64 = 0
    /// Requests sent to a worker (retries count again).
    public var requestsDispatched: UInt64 = 0
    /// Worker replies forwarded to clients.
    public var repliesForwarded: UInt64 = 0
    /// `BATON-ERR` replies sent, all codes.
    public var errorReplies: UInt64 = 0
    /// `expired` error replies.
    public var expired: UInt64 = 0
    /// `worker-died` error replies.
    public var workerDied: UInt64 = 0
    /// Requests put back in the queue after their worker was lost.
    public var retried: UInt64 = 0
    /// Requests a leaving worker gave back without starting them (RETURN), queued again or answered
    /// `session-lost`.
    public var requestsReturned: UInt64 = 0
    /// Client messages dropped as malformed.
    public var malformedClientMessages: UInt64 = 0
    /// Worker messages dropped as malformed.
    public var malformedWorkerMessages: UInt64 = 0
    /// Replies for requests a worker no longer held, dropped.
    public var staleReplies: UInt64 = 0
    /// Replies that could not be delivered because the client had gone.
    public var unroutableReplies: UInt64 = 0
    /// Heartbeats from workers the broker does not know, ignored.
    public var unknownHeartbeats: UInt64 = 0
    /// Workers removed because they went silent past their liveness.
    public var workersExpired: UInt64 = 0
    /// Workers removed because they held a request past the request timeout.
    public var workersHung: UInt64 = 0
    /// Workers removed because a send to them failed (they disconnected).
    public var workersUnreachable: UInt64 = 0
    /// Workers removed because they said DISCONNECT.
    public var workersDisconnected: UInt64 = 0
    /// Replies dropped because their client did not read: its pipe stayed full with replies waiting for the
    /// not-reading deadline (docs/protocol.md, "Flow control").
    public var unreadRepliesDropped: UInt64 = 0
    /// Replies waiting for room in their client's pipe now (at most `--max-queued`).
    public var repliesWaiting: Int = 0
    /// `too-large` error replies: requests or replies over the message size limit.
    public var tooLarge: UInt64 = 0
    /// Connections, refusals and failed handshakes (from the broker's ZAP handler and socket monitors).
    public var connections = ConnectionStats()
    /// Sessions open now (docs/protocol.md, "Sessions").
    public var sessionsOpen: Int = 0
    /// Sessions opened.
    public var sessionsOpened: UInt64 = 0
    /// Sessions ended (by their worker, idle, drain timeout, loss or shutdown).
    public var sessionsEnded: UInt64 = 0
    /// Keys of lost sessions kept so that their next request is answered `session-lost` (at most
    /// `--max-sessions`; each until its next request or the idle timeout after the loss).
    public var lostSessionKeys: Int = 0
    /// Lost sessions forgotten before their next request because more than `--max-sessions` were kept.
    public var lostSessionsForgotten: UInt64 = 0
    /// Sessions moved to another worker by a handoff.
    public var sessionsMoved: UInt64 = 0
    /// Handoffs that failed (the session stayed on its worker).
    public var handoffsFailed: UInt64 = 0
    /// Sessions of a worker being replaced that outlived the session drain timeout, or the reload's drain
    /// allowance (the worker was stopped, or left, holding them).
    public var sessionsDrainTimedOut: UInt64 = 0
    /// `session-lost` error replies.
    public var sessionLostReplies: UInt64 = 0
    /// Requests refused with `too-many-sessions`.
    public var sessionsRefused: UInt64 = 0
    /// Requests answered `bad-session` (an empty or too long key, or no body).
    public var badSessionRequests: UInt64 = 0
    /// END, EXPORT or IMPORT answers for a session the worker does not hold or no move awaits, ignored.
    public var staleSessionMessages: UInt64 = 0
    /// Requests waiting in the broker's queue now.
    public var queueDepth: Int = 0
    /// The deepest the queue has been.
    public var maxQueueDepth: Int = 0
    /// Requests being served by a worker now.
    public var inFlight: Int = 0
    /// Workers waiting for a request now.
    public var idleWorkers: Int = 0
    /// Workers known now.
    public var workers: Int = 0

    /// Creates zeroed statistics.
    public init() {}
}
