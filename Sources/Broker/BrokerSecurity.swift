import BatonProtocol
import ZeroMQ

/// Who may connect to the broker, and how much one peer may make it hold.
///
/// CURVE applies to tcp endpoints only: an ipc endpoint is a file in a directory only its owner can enter,
/// so the file system already decides who connects. Every frontend connection, whatever its transport and
/// mechanism, goes through the broker's ZAP handler, which enforces ``maxClients``.
public struct BrokerSecurity: Sendable {
    /// The server's CURVE key pair; with one, every tcp endpoint requires CURVE. `nil`: no CURVE.
    public var curveKeys: CurveKeyPair?
    /// CURVE public keys (32 bytes) allowed on a tcp backend. No other worker may connect there over tcp.
    public var authorizedWorkers: Set<[UInt8]> = []
    /// CURVE public keys allowed on a tcp frontend; `nil`: any client that completes the CURVE handshake
    /// (it knows the server's public key).
    public var authorizedClients: Set<[UInt8]>?
    /// Frontend connections open at once (handshakes in progress included); more are refused. `nil`: no bound.
    public var maxClients: Int?
    /// Replies the frontend's pipe holds for one client that has not taken them (its send high-water mark, in
    /// messages). Replies beyond it wait in the broker (at most `--max-queued` over all clients) and go out as
    /// the pipe drains.
    public var maxUnreadReplies: Int32 = BrokerSecurity.defaultMaxUnreadReplies
    /// How long a client's replies may wait with none of them going out before the client is treated as
    /// not reading: its waiting replies are dropped and counted, and so is each reply that finds its pipe full
    /// until one fits again.
    public var notReadingDeadline: TimeSpan = BrokerSecurity.defaultNotReadingDeadline

    /// The default of ``notReadingDeadline``: 5 s.
    public static let defaultNotReadingDeadline = TimeSpan.seconds(5)
    /// How long a new connection has to finish its handshake, so a peer that connects and says nothing
    /// does not hold a descriptor for long.
    public var handshakeTimeout = TimeSpan.seconds(10)

    /// Connections waiting to be accepted on the frontend. Accepted connections take a descriptor each before
    /// the ZAP handler can refuse them, so this is part of the descriptor reserve beyond ``maxClients``.
    public var listenBacklog: Int32 = BrokerSecurity.defaultListenBacklog

    /// The default of ``listenBacklog``.
    public static let defaultListenBacklog: Int32 = 64

    /// The default of ``maxUnreadReplies``: libzmq's own default high-water mark (see docs/protocol.md).
    public static let defaultMaxUnreadReplies: Int32 = 1_000

    /// No CURVE, no client bound, the default unread-reply bound.
    public init() {}

    /// Whether an endpoint is one CURVE protects (tcp).
    public static func isTCP(_ endpoint: String) -> Bool {
        endpoint.hasPrefix("tcp://")
    }
}

/// Counters of the broker's connection guard: connections, refusals and failed handshakes.
public struct ConnectionStats: Sendable, Equatable, Codable {
    /// Frontend connections open now (handshakes in progress included).
    public var clients = 0
    /// The bound on ``clients`` (`nil`: none).
    public var maxClients: Int?
    /// Backend connections open now.
    public var workerConnections = 0
    /// Frontend connections refused because ``maxClients`` were open.
    public var clientsOverLimit: UInt64 = 0
    /// Frontend CURVE connections refused because their key is not authorised.
    public var unauthorizedClients: UInt64 = 0
    /// Backend connections refused because their key is not authorised (or they did not use CURVE keys).
    public var unauthorizedWorkers: UInt64 = 0
    /// Handshakes that failed before authentication: a plain peer on a CURVE endpoint, a wrong server key,
    /// a peer that said nothing within the handshake timeout.
    public var failedHandshakes: UInt64 = 0
    /// Connections the listener could not accept (for example when descriptors ran out).
    public var acceptFailures: UInt64 = 0

    /// Zero counters.
    public init() {}

    /// Every refusal: over the client bound, unauthorised keys, failed handshakes.
    public var refused: UInt64 { clientsOverLimit + unauthorizedClients + unauthorizedWorkers + failedHandshakes }
}
