/// The fields of a `reload` control request, beside its `version` and `command`:
/// `"worker_command"` (absent: the current command again), `"surge"`, `"ready_timeout_seconds"`,
/// `"drain_timeout_seconds"`.
public struct ReloadRequest: Codable, Sendable, Equatable {
    /// The new command and arguments; nil reloads the current command (its binary replaced on disk).
    public var command: [String]?
    /// Start each new worker before stopping the old one.
    public var surge: Bool
    /// Seconds a new worker has to say READY.
    public var readyTimeoutSeconds: Double
    /// Seconds an old worker has to finish its request.
    public var drainTimeoutSeconds: Double

    enum CodingKeys: String, CodingKey {
        case command = "worker_command"
        case surge
        case readyTimeoutSeconds = "ready_timeout_seconds"
        case drainTimeoutSeconds = "drain_timeout_seconds"
    }

    /// Creates a request.
    public init(command: [String]?, surge: Bool, readyTimeoutSeconds: Double, drainTimeoutSeconds: Double) {
        self.command = command
        self.surge = surge
        self.readyTimeoutSeconds = readyTimeoutSeconds
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }
}
