import Broker
import FlyingFox
import Foundation
import Logging
import ServiceLifecycle
import Store
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
    public func run() async throws {
        let server = HTTPServer(address: try address.socketAddress(), timeout: 10, logger: ServerLogger(logger: logger))
        await server.appendRoute("GET /metrics") { _ in await metrics() }
        await server.appendRoute("GET /healthz") { _ in await liveness() }
        await server.appendRoute("GET /readyz") { _ in await readiness() }
        let stopping = StopFlag()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                group.addTask { [logger, address] in
                    try await server.waitUntilListening()
                    logger.info("metrics listening", metadata: ["url": "\(address.url)/metrics"])
                    try? await gracefulShutdown()
                    stopping.set()
                    await server.stop(timeout: 0)  // after open connections are done: nothing waits on accept
                }
                try await group.next()
                group.cancelAll()
            }
        } catch where stopping.isSet || Task.isCancelled {
            // The listening socket was closed on purpose.
        } catch {
            logger.error("the metrics server failed", metadata: ["url": "\(address.url)", "error": "\(error)"])
            throw error
        }
    }

    private func metrics() async -> HTTPResponse {
        let supervisorSnapshot = await supervisor.snapshot()
        var snapshot = MetricsSnapshot(broker: await broker.snapshot(), supervisor: supervisorSnapshot,
                                       history: history?(), process: ProcessStatistics.current())
        if let supervisorSnapshot {
            snapshot.generationDigest = await digests.digest(of: supervisorSnapshot.executable,
                                                             generation: supervisorSnapshot.generation)
        }
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: Data(exposition.render(snapshot).utf8))
    }

    private func readiness() async -> HTTPResponse {
        let state = Health(broker: await broker.snapshot(), supervisor: await supervisor.snapshot())
        return text(state.reason, status: state.ready ? .ok : .serviceUnavailable)
    }

    private func liveness() async -> HTTPResponse {
        let state = Health(broker: await broker.snapshot(), supervisor: nil)
        return text(state.live ? "ok" : state.reason, status: state.live ? .ok : .serviceUnavailable)
    }

    private func text(_ line: String, status: HTTPStatusCode) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: Data((line + "\n").utf8))
    }
}

/// Tells the server's task that its socket was closed on purpose.
private final class StopFlag: Sendable {
    private let value = Atomic(false)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func set() { value.store(true, ordering: .relaxed) }
}
