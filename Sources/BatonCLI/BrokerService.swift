import Broker
import CBatonSys
import ServiceLifecycle

/// Runs a ``BrokerServer`` as a service: started already, it serves until graceful shutdown, then drains.
struct BrokerService: Service {
    let server: BrokerServer
    let drainTimeout: UInt64

    func run() async throws {
        await withGracefulShutdownHandler {
            await server.waitUntilStopped()
        } onGracefulShutdown: {
            _ = baton_sd_notify("STOPPING=1")
            Task { await server.shutdown(drainTimeout: drainTimeout) }
        }
    }
}
