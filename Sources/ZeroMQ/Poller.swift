import CZeroMQ

/// Events a poll waits for or reports.
public struct PollEvents: OptionSet, Sendable {
    /// The raw `ZMQ_POLL*` bits.
    public let rawValue: Int16
    /// Creates events from raw `ZMQ_POLL*` bits.
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// A message can be received (or the file descriptor is readable).
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// `zmq_poll` over a fixed list of sockets and plain file descriptors.
///
/// Add items once, then call ``poll(timeoutMilliseconds:limit:)`` as often as needed; `limit` leaves the last
/// items out of a poll (how a broker stops reading a frontend under back-pressure).
public struct Poller {
    private var items: [zmq_pollitem_t] = []

    /// Creates an empty poller.
    public init() {}

    /// Adds a socket; returns its index for ``isReady(_:)``.
    @discardableResult
    public mutating func add(_ socket: Socket, events: PollEvents = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: socket.pollHandle, fd: -1, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Adds a file descriptor (an eventfd, a pipe, a pidfd); returns its index.
    @discardableResult
    public mutating func add(fileDescriptor: Int32, events: PollEvents = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Changes the events an item waits for (cheap: the next poll reads them).
    public mutating func setEvents(_ index: Int, _ events: PollEvents) {
        items[index].events = events.rawValue
    }

    /// Waits until an item is ready or the timeout passes (-1: no timeout). Returns the number ready.
    ///
    /// With `limit`, only the first `limit` items are polled (and the others report nothing): cheaper than
    /// disabling an item, which libzmq still inspects. An interrupted poll (`EINTR`) returns 0, as a timeout
    /// does, so the caller re-checks its state.
    @discardableResult
    public mutating func poll(timeoutMilliseconds: Int, limit: Int? = nil) throws(ZMQError) -> Int {
        let count = min(limit ?? items.count, items.count)
        for index in count..<items.count { items[index].revents = 0 }
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32(count), timeoutMilliseconds) }
        if rc < 0 {
            let error = ZMQError.last("zmq_poll")
            if error.isInterrupted {
                for index in items.indices { items[index].revents = 0 }
                return 0
            }
            throw error
        }
        return Int(rc)
    }

    /// Whether the item at `index` reported any of `events` in the last poll.
    public func isReady(_ index: Int, _ events: PollEvents = .readable) -> Bool {
        items[index].revents & events.rawValue != 0
    }
}
