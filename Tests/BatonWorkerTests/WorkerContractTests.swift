import BatonWorker
import Testing

@Suite("BatonWorker reads the heartbeat settings the supervisor passes")
struct WorkerContractTests {
    @Test("BATON_HEARTBEAT_INTERVAL_MS and BATON_HEARTBEAT_LIVENESS set the options; BATON_HEARTBEAT_MS still works")
    func heartbeatSettingsFromTheEnvironment() throws {
        let environment = try WorkerEnvironment.from([
            "BATON_BACKEND": "ipc:///tmp/x", "BATON_HEARTBEAT_INTERVAL_MS": "200", "BATON_HEARTBEAT_MS": "999",
            "BATON_HEARTBEAT_LIVENESS": "5",
        ])
        #expect(environment.heartbeatIntervalMilliseconds == 200)
        #expect(environment.heartbeatLiveness == 5)
        let options = WorkerOptions(environment: environment)
        #expect(options.heartbeatIntervalMilliseconds == 200 && options.heartbeatLiveness == 5)
        let old = try WorkerEnvironment.from(["BATON_BACKEND": "ipc:///tmp/x", "BATON_HEARTBEAT_MS": "250"])
        #expect(old.heartbeatIntervalMilliseconds == 250 && old.heartbeatLiveness == nil)
        let defaults = WorkerOptions(environment: old)
        #expect(defaults.heartbeatIntervalMilliseconds == 250)
        #expect(defaults.heartbeatLiveness == WorkerOptions().heartbeatLiveness)
        // The supervisor stops its workers with SIGTERM: options made from its environment drain on it.
        #expect(options.stopSignals == [.terminate, .interrupt] && WorkerOptions().stopSignals.isEmpty)
    }
}
