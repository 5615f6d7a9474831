/// How a process ended, as `waitpid` reports it: an exit code, or the signal that killed it.
public struct ProcessExit: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The exit code, if it exited.
    public var code: Int32?
    /// The signal that ended it, if one did.
    public var signal: Int32?

    /// Creates an exit status.
    public init(code: Int32? = nil, signal: Int32? = nil) {
        self.code = code
        self.signal = signal
    }

    /// Whether it exited with status 0 (not killed by a signal).
    public var isClean: Bool { signal == nil && code == 0 }

    /// `exit N` or `signal N`.
    public var description: String { signal.map { "signal \($0)" } ?? "exit \(code ?? -1)" }
}
