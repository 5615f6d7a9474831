import BatonProtocol
import BatonMetrics
import Broker
import Logging
import Store
import Supervisor

extension BatonApplication {
    /// Checks, before anything starts, that ``BatonConfiguration/metrics`` is an address Baton can listen on
    /// (a port in use stops `serve` like an unusable frontend does); nil when metrics are off.
    func reserveMetricsAddress() throws(BatonStartupError) -> MetricsAddress? {
        guard let text = configuration.metrics else { return nil }
        do {
            return try MetricsAddress(parsing: text).reserve()
        } catch {
            throw BatonStartupError(error)
        }
    }

    /// The HTTP service for `/metrics`, `/healthz` and `/readyz`. It goes into the group before the supervisor
    /// and the broker, so it stops after them: `/readyz` answers 503 while the broker drains.
    func metricsService(_ address: MetricsAddress, _ broker: BrokerServer, _ supervisor: SupervisorServer,
                        _ recorder: HistoryRecorder?) -> MetricsService {
        var history: (@Sendable () -> RecorderStats)?
        if let recorder { history = { recorder.stats } }
        return MetricsService(address: address, broker: broker, supervisor: supervisor, history: history,
                              logger: logger)
    }
}
