import Broker
import ServiceLifecycle
import Supervisor
import Synchronization

/// Runs a started ``SupervisorServer`` as a service: it keeps workers running until graceful shutdown, then
/// stops them (after the broker has drained, since services stop in reverse order of start).
struct SupervisorService: Service {
    let supervisor: SupervisorServer

    func run() async throws {
        let supervisor = supervisor
        await runUntilEnded({ await supervisor.waitUntilFinished() }, onShutdown: { await supervisor.stop() },
                            onCancel: { supervisor.requestStop() })
    }
}

/// Carries broker events to the supervisor, which is created after the broker.
final class EventRelay: Sendable {
    private let target = Mutex<SupervisorServer?>(nil)

    func connect(_ supervisor: SupervisorServer) {
        target.withLock { $0 = supervisor }
    }

    func forward(_ event: WorkerEvent) {
        target.withLock { $0 }?.workerEvent(event)
    }
}
