import BatonProtocol
import Broker
import CBatonSys
import ServiceLifecycle

/// Runs a started ``BrokerServer`` as a service: it serves until graceful shutdown, then drains (stop reading
/// clients, answer the queue, give in-flight requests up to the drain timeout). If the broker thread ends
/// on its own, so does the service; if the service is cancelled, the broker stops at once.
struct BrokerService: Service {
    let server: BrokerServer
    let drainTimeout: TimeSpan

    func run() async throws {
        let server = server
        let drainTimeout = drainTimeout
        await runUntilEnded({ await server.waitUntilStopped() }, onShutdown: {
            _ = baton_sd_notify("STOPPING=1")
            await server.shutdown(drainTimeout: drainTimeout)
        }, onCancel: { server.stop() })
    }
}
