import BatonProtocol
import Broker
import Foundation
import Logging
import ServiceLifecycle
import Supervisor
import Synchronization

/// The HTTP endpoint of `serve --metrics HOST:PORT`: `GET /metrics` (Prometheus text format), `GET /healthz`
/// (200 while the broker loop runs) and `GET /readyz` (200 while a worker is READY and Baton is neither draining
/// nor stopping, else 503).
///
/// Each request asks the broker and supervisor threads for a snapshot through their command queues (the same
/// way `baton status` does); nothing is counted on the request path. Run it as a service that starts before the
/// broker's, so that it stops after the broker has drained and `/readyz` says 503 during the drain.
public struct MetricsService: Service {
    /// Where it listens (a port already checked with ``MetricsAddress/reserve()``).
    public let address: MetricsAddress
    let broker: BrokerServer
    let supervisor: SupervisorServer
    let history: (@Sendable () -> RecorderStats)?
    let logger: Logger
    let exposition = MetricsExposition()
    let digests = GenerationDigest()
    let connections = MetricsHTTPCounters()

    /// Creates the service; nothing listens before ``run()``.
    public init(address: MetricsAddress, broker: BrokerServer, supervisor: SupervisorServer,
                history: (@Sendable () -> RecorderStats)?, logger: Logger) {
        self.address = address
        self.broker = broker
        self.supervisor = supervisor
        self.history = history
        self.logger = logger
    }

    /// Serves until graceful shutdown, then closes the listening socket and open connections.
    ///
    /// The HTTP side runs on a thread of its own with bounded connections, heads and time
    /// (``MetricsHTTPServer``); only the snapshots are awaited here. If the endpoint fails, Baton goes on
    /// serving requests (the service group ignores this service's end).
    public func run() async throws {
        let service = self
        let server = try MetricsHTTPServer(address: address, counters: connections, logger: logger) { path in
            let answer = Mutex<HTTPResponse?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task {
                let response = await service.respond(to: path)
                answer.withLock { $0 = response }
                done.signal()
            }
            done.wait()
            return answer.withLock { $0 } ?? .text("stopping\n", status: 503)
        }
        try server.start()
        logger.info("metrics listening", metadata: ["url": "\(address.url)/metrics"])
        try? await gracefulShutdown()
        await server.stop()
    }

    func respond(to path: String) async -> HTTPResponse {
        switch path {
        case "/metrics": await metrics()
        case "/healthz": await liveness()
        case "/readyz": await readiness()
        default: .text("not found: /metrics, /healthz, /readyz\n", status: 404)
        }
    }

    private func metrics() async -> HTTPResponse {
        let supervisorSnapshot = await supervisor.snapshot()
        var snapshot = MetricsSnapshot(broker: await broker.snapshot(), supervisor: supervisorSnapshot,
                                       history: history?(), process: ProcessStatistics.current(),
                                       http: connections.snapshot)
        if let supervisorSnapshot {
            snapshot.generationDigest = await digests.digest(of: supervisorSnapshot.executable,
                                                             generation: supervisorSnapshot.generation.number)
        }
        return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                          body: exposition.render(snapshot))
    }

    private func readiness() async -> HTTPResponse {
        let state = Health(broker: await broker.snapshot(), supervisor: await supervisor.snapshot())
        return text(state.reason, status: state.ready ? 200 : 503)
    }

    private func liveness() async -> HTTPResponse {
        let state = Health(broker: await broker.snapshot(), supervisor: nil)
        return text(state.live ? "ok" : state.reason, status: state.live ? 200 : 503)
    }

    private func text(_ line: String, status: Int) -> HTTPResponse {
        .text(line + "\n", status: status)
    }
}
