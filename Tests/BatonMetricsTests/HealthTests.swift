import Broker
import Supervisor
import Testing

@testable import BatonMetrics

@Suite("Liveness and readiness decided from the threads' snapshots")
struct HealthTests {
    func broker(workers: Int, draining: Bool = false, running: Bool = true) -> BrokerSnapshot {
        var stats = BrokerStats()
        stats.workers = workers
        return BrokerSnapshot(stats: stats, metrics: BrokerMetrics(), draining: draining, running: running)
    }

    @Test("ready with a registered worker while neither draining nor stopping")
    func readyWithAWorker() {
        let health = Health(broker: broker(workers: 2), supervisor: SupervisorMetrics())
        #expect(health.live && health.ready)
        #expect(health.reason == "ready: 2 workers")
    }

    @Test("live but not ready without a worker, while draining, or while the supervisor stops")
    func liveButNotReady() {
        var stopping = SupervisorMetrics()
        stopping.stopping = true
        let cases = [
            (Health(broker: broker(workers: 0), supervisor: SupervisorMetrics()), "no worker is ready"),
            (Health(broker: broker(workers: 1, draining: true), supervisor: SupervisorMetrics()), "draining"),
            (Health(broker: broker(workers: 1), supervisor: stopping), "stopping"),
            (Health(broker: broker(workers: 1), supervisor: nil), "stopping"),
        ]
        for (health, reason) in cases {
            #expect(health.live)
            #expect(!health.ready)
            #expect(health.reason.hasPrefix(reason))
        }
    }

    @Test("neither live nor ready once the broker loop has ended")
    func deadBroker() {
        for health in [Health(broker: nil, supervisor: SupervisorMetrics()),
                       Health(broker: broker(workers: 3, running: false), supervisor: SupervisorMetrics())] {
            #expect(!health.live && !health.ready)
        }
    }
}
