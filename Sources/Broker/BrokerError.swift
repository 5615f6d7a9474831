import ZeroMQ

/// Why the broker could not start or stopped with an error.
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, to match on.
    public enum Code: Sendable, Equatable {
        /// An endpoint could not be bound.
        case bind
        /// libzmq failed outside binding.
        case zeroMQ
        /// A system call failed.
        case system
        /// The broker is not running (never started, or already stopped).
        case notRunning
    }

    /// The kind of failure.
    public let code: Code
    /// What was being done.
    public let context: String
    /// The `errno` behind it, if any.
    public let errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ context: String, errno: Int32? = nil) {
        self.code = code
        self.context = context
        self.errno = errno
    }

    /// Wraps a libzmq error.
    public init(_ code: Code, _ error: ZMQError) {
        self.init(code, error.description, errno: error.code)
    }

    /// A sentence for the user.
    public var description: String {
        switch code {
        case .bind: "cannot bind \(context)"
        case .zeroMQ: "ZeroMQ error: \(context)"
        case .system: "\(context) failed (errno \(errno ?? 0))"
        case .notRunning: "the broker is not running"
        }
    }
}
