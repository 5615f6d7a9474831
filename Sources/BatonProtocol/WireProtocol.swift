/// Byte-level constants of Baton's wire protocol (docs/protocol.md, protocol version 2).
public enum WireProtocol {
    /// The version of the protocol described in docs/protocol.md.
    public static let version = 2
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
    /// END, either way: the worker ended a session, or the broker tells the worker to forget one
    /// (`[0x04][key]`).
    public static let endByte: [UInt8] = [0x04]
    /// EXPORT: the broker asks for a session's state (`[0x05][key]`); the worker answers
    /// `[0x05][key]["ok"][state]` or `[0x05][key]["error"][text]`.
    public static let exportByte: [UInt8] = [0x05]
    /// IMPORT: the broker hands a session's state to a worker (`[0x06][key][state]`); the worker answers
    /// `[0x06][key]["ok"]` or `[0x06][key]["error"][text]`.
    public static let importByte: [UInt8] = [0x06]
    /// RETURN, from a worker that is leaving: `[0x07][token]…` gives back requests it did not start (zero or more
    /// tokens) and asks for no new ones; the broker answers `[0x07]` once it has taken them back.
    public static let returnByte: [UInt8] = [0x07]
    /// Status frame of a successful EXPORT or IMPORT answer.
    public static let statusOK: [UInt8] = Array("ok".utf8)
    /// Status frame of a failed EXPORT or IMPORT answer.
    public static let statusError: [UInt8] = Array("error".utf8)
    /// The capability word a worker puts in its READY when it can export and import sessions.
    public static let handoffCapability = "handoff"
    /// Largest capacity a worker may declare in READY.
    public static let maxCapacity = 1_000
    /// First body frame of a client request that belongs to a session: `["BATON-SESSION"][key][body…]`.
    public static let sessionMarker: [UInt8] = Array("BATON-SESSION".utf8)
    /// Longest session key, in bytes.
    public static let maxSessionKeyBytes = 255
    /// First frame of the body of an error reply: `["BATON-ERR", code, text]`.
    public static let errorMarker: [UInt8] = Array("BATON-ERR".utf8)
    /// The code of the error reply a worker sends for a request whose handler failed: the worker SDKs reply
    /// `["BATON-ERR"]["handler-error"][text]`, and the broker forwards it as any reply.
    public static let handlerErrorCode = "handler-error"
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
    /// The request, or the worker's reply, is larger than `--max-message-size` (summed over its frames).
    case tooLarge = "too-large"
    /// The worker that held the request's session was lost; the session's next request opens a new one.
    case sessionLost = "session-lost"
    /// A `BATON-SESSION` request whose key is empty or longer than 255 bytes, or that has no body after it.
    case badSession = "bad-session"
    /// The request would open a session while `--max-sessions` sessions are open.
    case tooManySessions = "too-many-sessions"

    /// The error reply body: `["BATON-ERR", code, text]`.
    public func body(_ text: String) -> [[UInt8]] {
        [WireProtocol.errorMarker, Array(rawValue.utf8), Array(text.utf8)]
    }
}
