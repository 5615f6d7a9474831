import Broker
import Supervisor

/// What `/healthz` (liveness) and `/readyz` (readiness) answer, decided from the threads' snapshots.
public struct Health: Sendable, Equatable {
    /// Whether the broker loop runs (`/healthz` is 200).
    public var live: Bool
    /// Whether Baton should get traffic: the broker runs, at least one worker is READY, and Baton is neither
    /// draining nor stopping (`/readyz` is 200).
    public var ready: Bool
    /// A one-line explanation, the response body.
    public var reason: String

    /// Decides from the broker's and the supervisor's snapshots (nil: that thread did not answer).
    public init(broker: BrokerSnapshot?, supervisor: SupervisorMetrics?) {
        guard let broker, broker.running else {
            (live, ready, reason) = (false, false, "the broker is not running")
            return
        }
        live = true
        ready = false
        if broker.draining {
            reason = "draining: Baton is shutting down"
        } else if supervisor?.stopping ?? true {
            reason = "stopping: the supervisor is stopping its workers"
        } else if broker.stats.workers == 0 {
            reason = "no worker is ready"
        } else {
            ready = true
            reason = "ready: \(broker.stats.workers) worker\(broker.stats.workers == 1 ? "" : "s")"
        }
    }
}
