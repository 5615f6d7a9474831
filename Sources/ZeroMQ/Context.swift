import CZeroMQ

/// A ZeroMQ context: owns libzmq's I/O threads and is the factory for sockets.
///
/// A context is thread-safe. Its lifetime is explicit: close every socket (on the thread that owns it), then
/// call ``terminate()``. Nothing is terminated in `deinit`, because `zmq_ctx_term` blocks until every socket
/// is closed and a hidden blocking call in a destructor is how shutdowns hang.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with the given number of I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        if ioThreads != 1 {
            _ = zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
        }
    }

    /// Makes every blocking call on this context's sockets fail with `ETERM`, without waiting.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    /// Destroys the context; blocks until every socket created from it has been closed.
    public func terminate() {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
