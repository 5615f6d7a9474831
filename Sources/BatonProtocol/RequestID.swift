/// A request's identity: the number the broker gives each request it accepts, in order, never reused while
/// the history database lives (`request.id`). Workers see it as an 8-byte token in place of the client's
/// envelope (``token``).
public struct RequestID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number.
    public let value: UInt64

    /// The request numbered `value`.
    @inline(__always)
    public init(_ value: UInt64) { self.value = value }

    /// The request a worker's token stands for; nil if `frame` is not a token.
    @inline(__always)
    public init?(token frame: [UInt8]) {
        guard let value = WireProtocol.requestID(fromToken: frame) else { return nil }
        self.value = value
    }

    /// The 8-byte big-endian token workers see.
    @inline(__always)
    public var token: [UInt8] { WireProtocol.token(for: value) }

    /// The request after this one.
    @inline(__always)
    public var next: RequestID { RequestID(value &+ 1) }

    /// The number, in decimal.
    public var description: String { String(value) }

    public static func < (lhs: RequestID, rhs: RequestID) -> Bool { lhs.value < rhs.value }
}
