/// Byte-level constants of Baton's wire protocol (docs/protocol.md, protocol version 1).
public enum WireProtocol {
    /// The version of the protocol described in docs/protocol.md.
    public static let version = 1
    /// The empty delimiter frame that ends an envelope.
    public static let delimiter: [UInt8] = []
    /// READY as the zguide lbbroker worker sends it.
    public static let readyText: [UInt8] = Array("READY".utf8)
    /// READY as a Paranoid Pirate (heartbeating) worker sends it.
    public static let readyByte: [UInt8] = [0x01]
    /// HEARTBEAT, from a heartbeating worker or to it.
    public static let heartbeatByte: [UInt8] = [0x02]
    /// DISCONNECT, from a worker that is leaving: it takes no more requests (as in Majordomo).
    public static let disconnectByte: [UInt8] = [0x03]
    /// First frame of the body of an error reply: `["BATON-ERR", code, text]`.
    public static let errorMarker: [UInt8] = Array("BATON-ERR".utf8)
    /// Size in bytes of the request token a worker sees in place of the client's envelope.
    public static let tokenSize = 8

    /// Encodes a request id as the 8-byte big-endian token sent to workers.
    @inline(__always)
    public static func token(for requestID: UInt64) -> [UInt8] {
        withUnsafeBytes(of: requestID.bigEndian) { Array($0) }
    }

    /// Decodes a token back into a request id; `nil` if the frame is not a token.
    @inline(__always)
    public static func requestID(fromToken frame: [UInt8]) -> UInt64? {
        guard frame.count == tokenSize else { return nil }
        var value: UInt64 = 0
        for byte in frame { value = value << 8 | UInt64(byte) }
        return value
    }
}

/// The documented error codes of a `BATON-ERR` reply.
public enum BatonErrorCode: String, Sendable, CaseIterable, Codable {
    /// The request waited in the queue longer than `--queue-timeout`.
    case expired
    /// The worker serving the request died, hung past `--request-timeout`, or went silent.
    case workerDied = "worker-died"
    /// The worker answered with frames that are not a reply.
    case badReply = "bad-reply"
    /// The supervisor is shutting down and will not serve the request.
    case shuttingDown = "shutting-down"

    /// The error reply body: `["BATON-ERR", code, text]`.
    public func body(_ text: String) -> [[UInt8]] {
        [WireProtocol.errorMarker, Array(rawValue.utf8), Array(text.utf8)]
    }
}
