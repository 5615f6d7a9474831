/// Why the supervisor could not do what was asked.
public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, to match on.
    public enum Code: Sendable, Equatable {
        /// The state directory could not be created, opened or locked.
        case stateDirectory
        /// Another live supervisor holds the state directory.
        case stateDirectoryLocked
        /// The worker command cannot be executed.
        case badCommand
        /// The control socket could not be set up.
        case control
        /// A file or directory Baton would use is not safe to trust: owned by another user, writable by
        /// others, a symbolic link, or in a directory that another user could change.
        case untrusted
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence for the user.
    public let message: String
    /// The `errno` behind it, if any.
    public let errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// The message, with the errno text when there is one.
    public var description: String {
        guard let errno else { return message }
        return "\(message): \(String(cString: strerror(errno)))"
    }
}

#if canImport(Glibc)
import Glibc
#endif
