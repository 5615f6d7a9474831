import BatonWorker
import Broker
import Foundation
import Logging
import Testing
import ZeroMQ

@Suite("BatonWorker's side of the contract: heartbeat settings and DISCONNECT", .serialized, .timeLimit(.minutes(1)))
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
        #expect(defaults.heartbeatIntervalMilliseconds == 250 && defaults.heartbeatLiveness == WorkerOptions().heartbeatLiveness)
    }

    @Test("a worker that stops says DISCONNECT: the broker removes it at once, not after its liveness")
    func stoppingWorkerSaysDisconnect() throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        options.policy.heartbeatInterval = 1_000_000_000
        options.policy.heartbeatLiveness = 60
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let broker = try BrokerServer(options: options, logger: logger)
        let endpoints = try broker.start()
        defer { broker.stop() }

        let environment = WorkerEnvironment(backend: endpoints.backend, workerID: Array("lib-2".utf8))
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread { [logger] in
            let runtime = WorkerRuntime(environment: environment, options: WorkerOptions(), logger: logger)
            _ = try? runtime.run { _ in .replyAndStop([Array("bye".utf8)]) }
            finished.signal()
        }
        thread.start()

        let context = try Context()
        defer { context.terminate() }
        let client = try Socket(context, .req)
        defer { client.close() }
        client.linger = 0
        try client.setReceiveTimeout(milliseconds: 5_000)
        try client.connect(endpoints.frontend)
        try client.send(frame: Array("last".utf8))
        #expect(try client.receive()?.frames == [Array("bye".utf8)])
        #expect(finished.wait(timeout: .now() + 5) == .success)
        let deadline = Date().addingTimeInterval(5)
        var stats = try broker.statsBlocking()
        while stats.workers != 0 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
            stats = try broker.statsBlocking()
        }
        #expect(stats.workers == 0 && stats.workersDisconnected == 1)
        #expect(stats.workersExpired == 0 && stats.workersHung == 0)
    }
}
