import CZeroMQ

/// A ZeroMQ socket. Not thread-safe: create, use and close it on one thread.
///
/// Receiving returns `nil` when nothing is waiting on a non-blocking call (`EAGAIN` is an expected outcome,
/// not an error); every other failure throws a ``ZMQError`` with its `errno`. `EINTR` is retried here.
public final class Socket {
    let handle: UnsafeMutableRawPointer
    /// One reusable libzmq message for receiving, so a receive allocates only the frames' bytes.
    let scratch: UnsafeMutablePointer<zmq_msg_t>
    private var closed = false

    /// Creates a socket of the given type in a context.
    public init(_ context: Context, _ type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.raw) else { throw ZMQError.last("zmq_socket") }
        self.handle = handle
        scratch = .allocate(capacity: 1)
        zmq_msg_init(scratch)
    }

    deinit {
        close()
        zmq_msg_close(scratch)
        scratch.deallocate()
    }

    /// Closes the socket; later calls do nothing. Set ``linger`` first if queued messages may be dropped.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    /// Binds to an endpoint (`tcp://127.0.0.1:*`, `ipc:///path`, `inproc://name`).
    public func bind(_ endpoint: String) throws(ZMQError) {
        _ = try retryingInterrupts("zmq_bind \(endpoint)") { zmq_bind(handle, endpoint) }
    }

    /// Connects to an endpoint; ZeroMQ connects in the background and reconnects on its own.
    public func connect(_ endpoint: String) throws(ZMQError) {
        _ = try retryingInterrupts("zmq_connect \(endpoint)") { zmq_connect(handle, endpoint) }
    }

    // MARK: Sending

    /// Sends one frame. Returns `false` if `dontWait` was set and the message could not be queued (`EAGAIN`).
    @discardableResult
    public func send(frame: [UInt8], more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        while true {
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if rc >= 0 { return true }
            let error = ZMQError.last("zmq_send")
            if error.isInterrupted { continue }
            if error.isWouldBlock && dontWait { return false }
            throw error
        }
    }

    /// Sends the frames of a multipart message atomically.
    ///
    /// Returns `false` if `dontWait` was set and the first frame could not be queued: then nothing was sent.
    /// Later frames of a message are always accepted once the first was.
    @discardableResult
    public func send(_ message: Message, dontWait: Bool = false) throws(ZMQError) -> Bool {
        try send(frames: message.frames, dontWait: dontWait)
    }

    /// Sends frames as one multipart message; see ``send(_:dontWait:)``.
    @discardableResult
    public func send(frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        let last = frames.count - 1
        for index in 0...last {
            let sent = try send(frame: frames[index], more: index < last, dontWait: dontWait && index == 0)
            if !sent { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one whole multipart message, or `nil` if `dontWait` is set and none is waiting.
    ///
    /// With a receive timeout set (``receiveTimeout``), a blocking call also returns `nil` when it expires.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> Message? {
        var frames: [[UInt8]] = []
        guard try receive(into: &frames, dontWait: dontWait) else { return nil }
        return Message(frames)
    }

    /// Receives one whole multipart message into `frames` (cleared first), reusing its storage.
    ///
    /// Returns `false` when nothing is waiting (`dontWait`) or a receive timeout expired.
    public func receive(into frames: inout [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        frames.removeAll(keepingCapacity: true)
        guard let first = try receiveFrame(dontWait: dontWait) else { return false }
        frames.append(first)
        while moreToReceive {
            // The rest of a multipart message is already here: ZeroMQ delivers messages atomically.
            guard let next = try receiveFrame(dontWait: false) else { break }
            frames.append(next)
        }
        return true
    }

    /// Receives one frame; `nil` on `EAGAIN` (no message, or a receive timeout).
    public func receiveFrame(dontWait: Bool = false) throws(ZMQError) -> [UInt8]? {
        let flags = dontWait ? ZMQ_DONTWAIT : 0
        while true {
            let rc = zmq_msg_recv(scratch, handle, flags)
            if rc >= 0 { break }
            let error = ZMQError.last("zmq_msg_recv")
            if error.isInterrupted { continue }
            if error.isWouldBlock { return nil }
            throw error
        }
        let size = zmq_msg_size(scratch)
        guard size > 0, let data = zmq_msg_data(scratch) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: data, count: size))
    }

    /// Whether the frame received last has more frames after it.
    public var moreToReceive: Bool { zmq_msg_more(scratch) != 0 }

    /// The socket's handle, for a ``Poller``.
    var pollHandle: UnsafeMutableRawPointer { handle }
}
