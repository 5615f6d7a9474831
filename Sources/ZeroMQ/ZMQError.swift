import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// An error from libzmq, with the `errno` it reported so callers can match on the cause.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value libzmq set (`EAGAIN`, `EINTR`, `ETERM`, `EHOSTUNREACH`, …).
    public let code: Int32
    /// The libzmq call that failed, e.g. `zmq_bind`.
    public let operation: String

    /// Creates an error from an explicit `errno` value.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Captures the current thread's `zmq_errno()` for a failed call.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    /// The call would have blocked (`EAGAIN`); with `ROUTER_MANDATORY` also "peer's queue is full".
    public var isWouldBlock: Bool { code == EAGAIN }
    /// A signal interrupted the call (`EINTR`).
    public var isInterrupted: Bool { code == EINTR }
    /// The context was terminated or shut down (`ETERM`).
    public var isTerminated: Bool { code == ETERM }
    /// A ROUTER socket with `ROUTER_MANDATORY` has no peer with that routing id (`EHOSTUNREACH`).
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }

    /// libzmq's text for the error code.
    public var message: String { String(cString: zmq_strerror(code)) }

    /// `operation: message (errno N)`.
    public var description: String { "\(operation): \(message) (errno \(code))" }
}

/// Runs a libzmq call that returns -1 on failure, retrying it while it fails with `EINTR`.
@inline(__always)
func retryingInterrupts(_ operation: String, _ call: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let rc = call()
        if rc >= 0 { return rc }
        let error = ZMQError.last(operation)
        if !error.isInterrupted { throw error }
    }
}
