import BatonProtocol
import BatonWorker
import Broker
import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

@Suite("The BatonWorker library", .serialized, .timeLimit(.minutes(1)))
struct BatonWorkerTests {
    @Test("the environment contract is read from BATON_* variables, and a backend is required")
    func environment() throws {
        let environment = try WorkerEnvironment.from([
            "BATON_BACKEND": "ipc:///tmp/x", "BATON_WORKER_ID": "run-2-7", "BATON_SLOT": "2",
            "BATON_GENERATION": "3", "BATON_HEARTBEAT_MS": "250",
        ])
        #expect(environment.backend == "ipc:///tmp/x")
        #expect(environment.workerID == Array("run-2-7".utf8))
        #expect(environment.slot == 2 && environment.generation == 3)
        #expect(environment.heartbeatIntervalMilliseconds == 250)
        #expect(environment.isManaged)
        #expect(try WorkerEnvironment.from([:], backend: "tcp://127.0.0.1:1").isManaged == false)
        #expect(throws: WorkerError.self) { _ = try WorkerEnvironment.from([:]) }
    }

    @Test("a heartbeating worker stays registered while idle past its liveness, and says DISCONNECT when it stops")
    func heartbeatingWorkerStaysAlive() async throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        // A 500 ms liveness window: wide enough that a loaded two-core machine does not starve a heartbeat past
        // it, while the idle spell below still lasts four windows.
        options.policy.heartbeatInterval = .milliseconds(100)
        options.policy.heartbeatLiveness = 5
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let broker = try BrokerServer(options: options, logger: logger)
        let endpoints = try broker.start()
        defer { broker.stop() }

        var workerOptions = WorkerOptions()
        workerOptions.heartbeatIntervalMilliseconds = 100
        workerOptions.heartbeatLiveness = 5
        let environment = WorkerEnvironment(backend: endpoints.backend, workerID: Array("lib-1".utf8))
        let finished = DispatchSemaphore(value: 0)
        let exit = Mutex<Result<WorkerExit, WorkerError>?>(nil)
        let thread = Thread { [workerOptions, logger] in
            let runtime = WorkerRuntime(environment: environment, options: workerOptions, logger: logger)
            let ended = Result(catching: {
                try runtime.run { body in
                    body.first == Array("stop".utf8) ? .replyAndStop([Array("bye".utf8)]) : .reply([Array("echo:".utf8)] + body)
                }
            })
            exit.withLock { $0 = ended.mapError { WorkerError("\($0)") } }
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
        try client.send(frame: Array("hi".utf8))
        #expect(try client.receive()?.frames == [Array("echo:".utf8), Array("hi".utf8)])
        // Idle for four liveness windows: heartbeats keep the worker registered.
        try await Task.sleep(for: .milliseconds(2_000))
        let stats = try await broker.stats()
        #expect(stats.workers == 1 && stats.workersExpired == 0)
        try client.send(frame: Array("stop".utf8))
        #expect(try client.receive()?.frames == [Array("bye".utf8)])
        #expect(finished.wait(timeout: .now() + 5) == .success, "replyAndStop ends run()")
        let ended = exit.withLock { $0 }
        #expect(ended.flatMap { try? $0.get() } == .stopRequested, "run() ended with \(String(describing: ended))")
        // It said DISCONNECT on its way out: removed at once, not expired for its silence.
        var after = try await broker.stats()
        let deadline = ContinuousClock.now + .seconds(5)
        while after.workers != 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            after = try await broker.stats()
        }
        #expect(after.workers == 0 && after.workersDisconnected == 1 && after.workersExpired == 0)
    }
}
