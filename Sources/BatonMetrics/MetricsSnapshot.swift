import BatonProtocol
import Broker
import Supervisor

/// One scrape's inputs: what each part of Baton reported at the moment of the scrape (nil where a part did
/// not answer, say because it has stopped).
public struct MetricsSnapshot: Sendable {
    /// The broker thread's counters, histograms and drain state.
    public var broker: BrokerSnapshot?
    /// The supervisor thread's slots, restarts, reloads and active generation.
    public var supervisor: SupervisorMetrics?
    /// The history recorder's counters (nil when history is off).
    public var history: RecorderStats?
    /// This process's CPU, memory and file descriptors.
    public var process: ProcessStatistics?
    /// SHA-256 of the active generation's executable, once known.
    public var generationDigest: String?
    /// The metrics endpoint's own connections.
    public var http: MetricsHTTPStats?

    /// Creates a snapshot.
    public init(broker: BrokerSnapshot? = nil, supervisor: SupervisorMetrics? = nil, history: RecorderStats? = nil,
                process: ProcessStatistics? = nil, generationDigest: String? = nil, http: MetricsHTTPStats? = nil) {
        self.broker = broker
        self.supervisor = supervisor
        self.history = history
        self.process = process
        self.generationDigest = generationDigest
        self.http = http
    }
}
