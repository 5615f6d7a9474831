import BatonProtocol

/// A client request held by the broker: queued or in flight.
///
/// It keeps the client's message as received, `[envelope…][""][body…]`, and where the delimiter is, so that
/// forwarding and replying slice it instead of copying it.
public struct PendingRequest: Sendable {
    /// Broker-wide unique id; also the token a worker sees in place of the client's envelope.
    public let id: RequestID
    /// The client's frames as received on the frontend, routing id first.
    public let frames: [[UInt8]]
    /// Index of the empty delimiter frame in ``frames``.
    public let delimiter: Int
    /// Monotonic time the broker received it.
    public let receivedAt: Instant
    /// How many times it was sent to a worker.
    public var attempts: Int = 0
    /// The session key of a `BATON-SESSION` request (docs/protocol.md, "Sessions"); nil for a stateless one.
    public var session: SessionKey?
    /// Whether it is the first request of its session (its dispatch places the session on that worker).
    public var opensSession = false

    /// The envelope: every frame before the delimiter (the client's routing id first).
    public var envelope: ArraySlice<[UInt8]> { frames[..<delimiter] }
    /// The body: every frame after the delimiter.
    public var body: ArraySlice<[UInt8]> { frames[(delimiter + 1)...] }
    /// Bytes in the body.
    public var bodySize: Int { body.reduce(0) { $0 + $1.count } }

    /// The client's routing id: the envelope's first frame.
    public var client: ClientID { ClientID(routingID: frames[0]) }

    /// A request read as ``ClientMessage/request(frames:delimiter:session:)``.
    init(id: RequestID, frames: [[UInt8]], delimiter: Int, receivedAt: Instant) {
        self.id = id
        self.frames = frames
        self.delimiter = delimiter
        self.receivedAt = receivedAt
    }
}
