import CZeroMQ

/// Connection events a socket monitor reports (`ZMQ_EVENT_*`).
public struct SocketEvents: OptionSet, Sendable, Hashable {
    /// The raw `ZMQ_EVENT_*` bits.
    public let rawValue: Int32
    /// Creates events from raw bits.
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// A listener accepted a connection (value: its file descriptor).
    public static let accepted = SocketEvents(rawValue: ZMQ_EVENT_ACCEPTED)
    /// A listener could not accept a connection (value: `errno`, e.g. `EMFILE`).
    public static let acceptFailed = SocketEvents(rawValue: ZMQ_EVENT_ACCEPT_FAILED)
    /// A connection ended, for any reason, its handshake failed included (value: its file descriptor).
    public static let disconnected = SocketEvents(rawValue: ZMQ_EVENT_DISCONNECTED)
    /// A handshake failed with a system error (value: `errno`).
    public static let handshakeFailedNoDetail = SocketEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
    /// A handshake failed on a protocol error, e.g. a mechanism mismatch (value: `ZMQ_PROTOCOL_ERROR_*`).
    public static let handshakeFailedProtocol = SocketEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    /// The ZAP handler refused a connection (value: its status code, e.g. 400).
    public static let handshakeFailedAuth = SocketEvents(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    /// A handshake completed (and was authorised, if ZAP applies).
    public static let handshakeSucceeded = SocketEvents(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
}

/// One event from a socket monitor.
public struct SocketEvent: Sendable, Equatable {
    /// Which event (a single bit of ``SocketEvents``).
    public let event: SocketEvents
    /// The event's value: a file descriptor, an `errno`, a protocol error or a ZAP status (see each event).
    public let value: UInt32
    /// The endpoint the event concerns.
    public let endpoint: String

    /// Creates an event.
    public init(event: SocketEvents, value: UInt32, endpoint: String) {
        self.event = event
        self.value = value
        self.endpoint = endpoint
    }

    /// Parses a monitor message: `[event (uint16) + value (uint32), native byte order][endpoint]`.
    public init?(frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let head = frames[0]
        let event = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
        let value = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        self.init(event: SocketEvents(rawValue: Int32(event)), value: value,
                  endpoint: String(decoding: frames[1], as: UTF8.self))
    }
}

extension Socket {
    /// Publishes this socket's `events` on a PAIR socket bound at `endpoint` (an `inproc://` name), where a
    /// PAIR socket of the same context can read them as ``SocketEvent`` messages.
    ///
    /// Call on the thread that owns this socket; the monitor ends when the socket is closed.
    public func startMonitor(endpoint: String, events: SocketEvents) throws(ZMQError) {
        _ = try retryingInterrupts("zmq_socket_monitor \(endpoint)") {
            zmq_socket_monitor(handle, endpoint, events.rawValue)
        }
    }
}
