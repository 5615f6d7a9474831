import CZeroMQ

extension SocketEvent.Kind {
    /// A listener could not accept a connection (the value is an `errno`; `EAGAIN` when Baton's accept closed a
    /// connection it had no descriptor for).
    public static let acceptFailed = Self(rawValue: ZMQ_EVENT_ACCEPT_FAILED)
    /// A handshake failed with a system error (the value is an `errno`).
    public static let handshakeFailedNoDetail = Self(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    /// A handshake failed on a protocol error, for example a mechanism mismatch (the value is a
    /// `ZMQ_PROTOCOL_ERROR_*`).
    public static let handshakeFailedProtocol = Self(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    /// The ZAP handler refused a connection (the value is its status code, for example 400).
    public static let handshakeFailedAuth = Self(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    /// A handshake completed, and was authorised if ZAP applies.
    public static let handshakeSucceeded = Self(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
}
