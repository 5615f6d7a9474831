/// The body of a `reload` control request (JSON).
public struct ReloadRequest: Codable, Sendable, Equatable {
    /// The new command and arguments; nil reloads the current command (its binary replaced on disk).
    public var command: [String]?
    /// Start each new worker before stopping the old one.
    public var surge: Bool
    /// Seconds a new worker has to say READY.
    public var readyTimeoutSeconds: Double
    /// Seconds an old worker has to finish its request.
    public var drainTimeoutSeconds: Double

    /// Creates a request.
    public init(command: [String]?, surge: Bool, readyTimeoutSeconds: Double, drainTimeoutSeconds: Double) {
        self.command = command
        self.surge = surge
        self.readyTimeoutSeconds = readyTimeoutSeconds
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }
}
