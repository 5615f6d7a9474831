import CZeroMQ

/// One event from a socket monitor (`zmq_socket_monitor`): what happened to which connection.
public struct SocketEvent: Sendable, Equatable {
    /// What happened, as a monitor event bit.
    public struct Kind: OptionSet, Sendable, Hashable {
        /// The raw `ZMQ_EVENT_*` bits.
        public let rawValue: Int32
        /// Creates a kind from raw `ZMQ_EVENT_*` bits.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// A peer's connection was accepted (the value is its file descriptor).
        public static let accepted = Kind(rawValue: ZMQ_EVENT_ACCEPTED)
        /// A connection closed: the peer went away, or libzmq dropped it (for example for a message above
        /// `ZMQ_MAXMSGSIZE`). The value is the connection's file descriptor.
        public static let disconnected = Kind(rawValue: ZMQ_EVENT_DISCONNECTED)
    }

    /// What happened.
    public let kind: Kind
    /// The event's value: for connection events, the connection's file descriptor.
    public let value: Int32
    /// The endpoint the event is about.
    public let endpoint: String

    /// Parses a monitor message `[event:u16 value:u32][endpoint]`; nil if it is not one.
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 2, frames[0].count == 6 else { return nil }
        let header = frames[0]
        // The monitor writes both numbers in the host's byte order (little-endian on every Linux Baton runs on).
        let event = UInt16(header[0]) | UInt16(header[1]) << 8
        let value = UInt32(header[2]) | UInt32(header[3]) << 8 | UInt32(header[4]) << 16 | UInt32(header[5]) << 24
        kind = Kind(rawValue: Int32(event))
        self.value = Int32(bitPattern: value)
        endpoint = String(decoding: frames[1], as: UTF8.self)
    }
}

extension Socket {
    /// Publishes this socket's connection events of the given kinds on an inproc PAIR endpoint; connect a
    /// ``SocketType/pair`` socket to `endpoint` to read them as ``SocketEvent``s.
    public func startMonitor(_ endpoint: String, events: SocketEvent.Kind) throws(ZMQError) {
        if zmq_socket_monitor(handle, endpoint, events.rawValue) != 0 {
            throw ZMQError.last("zmq_socket_monitor \(endpoint)")
        }
    }

    /// Stops the monitor started by ``startMonitor(_:events:)``.
    public func stopMonitor() {
        _ = zmq_socket_monitor(handle, nil, 0)
    }

    /// The file descriptor of the connection the last received frame came on (-1 if it came on none, as
    /// over inproc). Compare it with a ``SocketEvent``'s value to tie a closed connection to a peer.
    public var lastFrameConnection: Int32 {
        zmq_msg_get(scratch, ZMQ_SRCFD)
    }
}
