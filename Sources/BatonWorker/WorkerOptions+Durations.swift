import BatonProtocol

extension WorkerOptions {
    /// ``heartbeatIntervalMilliseconds`` as a span (at least 1 ms).
    var heartbeatInterval: TimeSpan { .milliseconds(UInt64(max(heartbeatIntervalMilliseconds, 1))) }

    /// How long the broker may stay silent: ``heartbeatLiveness`` intervals (at least one).
    var livenessWindow: TimeSpan { heartbeatInterval * UInt64(max(heartbeatLiveness, 1)) }

    /// ``drainTimeoutMilliseconds`` as a span.
    var drainTimeout: TimeSpan { .milliseconds(UInt64(max(drainTimeoutMilliseconds, 0))) }
}
