/// Why the metrics endpoint cannot serve: a malformed `--metrics` address, or one that cannot be listened on.
public struct MetricsError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the address.
    public var description: String
    /// The `errno` of a failed socket call, if that is the cause.
    public var errno: Int32?

    /// Creates an error.
    public init(_ description: String, errno: Int32? = nil) {
        self.description = description
        self.errno = errno
    }
}
