/// A client connection's identity: the routing id the broker's frontend ROUTER gives it (or the envelope a
/// chain of ROUTER/DEALER hops put in front of a request).
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    /// The routing id's bytes.
    public let bytes: [UInt8]

    /// The client with this routing id.
    @inline(__always)
    public init(routingID bytes: [UInt8]) { self.bytes = bytes }

    /// The routing id in lower-case hex, two digits a byte (``Hex``): how a client is shown and recorded.
    public var description: String { Hex.lowercase(bytes) }
}
