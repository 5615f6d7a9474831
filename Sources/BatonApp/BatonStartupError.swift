/// Why `baton serve` could not start (it exits with status 2): the state directory is locked or unusable,
/// an endpoint cannot be bound, the worker command cannot run. (An unusable history database is not one: Baton
/// serves with history degraded.)
public struct BatonStartupError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the file, endpoint or command.
    public var description: String

    /// Creates an error from the underlying one.
    public init(_ underlying: any Error) {
        description = "\(underlying)"
    }
}
