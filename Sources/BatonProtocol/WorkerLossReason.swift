/// Why the broker stopped counting on a worker: the reason its ``HistoryEvent/workerLost(workerID:reason:at:)``
/// gives, and the words its requests' `worker-died` and `session-lost` answers carry.
public enum WorkerLossReason: Sendable, Equatable, CustomStringConvertible {
    /// It said DISCONNECT: it left on purpose.
    case disconnected
    /// A send to it failed: its connection is gone.
    case unreachable
    /// It sent no heartbeat for longer than its liveness window.
    case silent(window: TimeSpan)
    /// It held a request past the request timeout.
    case requestTimedOut(timeout: TimeSpan)
    /// The supervisor reaped its process, which ended this way for this reason.
    case processEnded(WorkerExitReason, ProcessExit)

    /// The `worker.exit_reason` recorded for it: one vocabulary with the supervisor's exits.
    public var exitReason: WorkerExitReason {
        switch self {
        case .disconnected: .disconnected
        case .unreachable: .unreachable
        case .silent, .requestTimedOut: .hung
        case .processEnded(let reason, _): reason
        }
    }

    /// The reason in words, e.g. "no heartbeat for more than 3000 ms", "process ended (signal 9)".
    public var description: String {
        switch self {
        case .disconnected: "disconnected"
        case .unreachable: "unreachable"
        case .silent(let window): "no heartbeat for more than \(window.milliseconds) ms"
        case .requestTimedOut(let timeout): "request ran past \(timeout.milliseconds) ms"
        case .processEnded(.crashed, let exit): "process ended (\(exit))"
        case .processEnded(let reason, let exit): "process ended (\(exit), \(reason.rawValue))"
        }
    }
}
