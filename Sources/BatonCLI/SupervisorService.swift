import Broker
import Logging
import ServiceLifecycle
import Supervisor
import Synchronization

/// Runs a ``SupervisorServer`` as a service: started already, it keeps workers running until graceful
/// shutdown, then stops them (after the broker has drained, since services stop in reverse order).
struct SupervisorService: Service {
    let supervisor: SupervisorServer

    func run() async throws {
        await withGracefulShutdownHandler {
            await supervisor.waitUntilFinished()
        } onGracefulShutdown: {
            Task { await supervisor.stop() }
        }
    }
}

/// Carries broker events to the supervisor, which is created after the broker.
final class EventRelay: Sendable {
    private let target = Mutex<SupervisorServer?>(nil)

    func connect(_ supervisor: SupervisorServer) {
        target.withLock { $0 = supervisor }
    }

    func forward(_ event: WorkerEvent) {
        target.withLock { $0 }?.brokerEvent(event)
    }
}
