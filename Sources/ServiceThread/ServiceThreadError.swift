#if canImport(Glibc)
import Glibc
#endif

/// Why a ``ServiceThread`` could not start.
public struct ServiceThreadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// `start` was called on a thread that was already started.
        case startedTwice
        /// The wake-up eventfd could not be created (``errno`` says why).
        case wakeDescriptor
        /// The kernel refused a new thread (``errno`` says why).
        case threadCreation
        /// The thread's body returned without reporting that it had started.
        case endedBeforeStarting
    }

    /// What went wrong.
    public let code: Code
    /// The thread's name.
    public let thread: String
    /// The system's error number, when a system call failed (0 otherwise).
    public let errno: Int32

    /// Creates an error.
    public init(_ code: Code, thread: String, errno: Int32 = 0) {
        self.code = code
        self.thread = thread
        self.errno = errno
    }

    /// A sentence for logs and for people.
    public var description: String {
        let reason = errno == 0 ? "" : ": " + String(cString: strerror(errno))
        switch code {
        case .startedTwice: return "thread \(thread) was started twice"
        case .wakeDescriptor: return "cannot create the wake-up eventfd of thread \(thread)\(reason)"
        case .threadCreation: return "cannot start thread \(thread)\(reason)"
        case .endedBeforeStarting: return "thread \(thread) ended before it had started"
        }
    }
}
