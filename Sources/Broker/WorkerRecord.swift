/// What the broker knows about one connected worker.
public struct WorkerRecord: Sendable {
    /// The worker's ZeroMQ routing id.
    public let id: [UInt8]
    /// How its messages are framed.
    public var framing: WorkerFraming
    /// Whether it announced itself with the heartbeat protocol's READY (`0x01`) and so is held to liveness.
    public var heartbeating: Bool
    /// Monotonic time of the last message from it.
    public var lastSeen: UInt64
    /// The request it is serving, if any.
    public var request: PendingRequest?
    /// Monotonic time it was given ``request``.
    public var dispatchedAt: UInt64 = 0
    /// Replies it has delivered.
    public var served: UInt64 = 0
    /// The file descriptor of the connection its last message came on (-1: unknown; -2: that connection
    /// closed and nothing came since), to tie a closed connection to the worker.
    public var connection: Int32 = -1
    /// Monotonic time its connection was last seen to close.
    public var connectionClosedAt: UInt64 = 0

    /// Whether it is serving a request.
    public var isBusy: Bool { request != nil }
}
