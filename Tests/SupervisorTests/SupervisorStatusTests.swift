import BatonProtocol
import Broker
import Foundation
import Logging
import Supervisor
import Synchronization
import Testing
import ZeroMQ

@Suite("Status and the supervisor thread", .serialized, .timeLimit(.minutes(1)))
struct SupervisorStatusTests {
    /// Polls `condition` every 5 ms until it holds or `seconds` pass, without holding a cooperative-pool thread
    /// (the snapshot task needs one).
    func eventually(within seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test func aStatusRequestNeverMakesTheSupervisorThreadWaitForABusyBrokerThread() async throws {
        let directory = "/tmp/bst-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        // The broker thread stops in its observer at the worker's READY until the test lets it go.
        let held = Mutex(true)
        let holding = Mutex(false)
        var options = BrokerServer.Options(frontend: "ipc://\(directory)/f", backend: "ipc://\(directory)/b")
        options.observer = { event in
            guard case .ready = event else { return }
            holding.withLock { $0 = true }
            while held.withLock({ $0 }) { usleep(1_000) }
        }
        let broker = try BrokerServer(options: options, logger: logger)
        try broker.start()
        var supervisorOptions = SupervisorServer.Options(
            command: WorkerCommand(executable: "/bin/true", arguments: []),
            pool: PoolConfiguration(workers: 0, runID: "status"), stateDirectory: directory,
            backend: "ipc://\(directory)/b", heartbeatMilliseconds: 1_000, controlEndpoint: "ipc://\(directory)/c")
        supervisorOptions.latestGeneration = 1
        let supervisor = try SupervisorServer(options: supervisorOptions, broker: broker, logger: logger)
        try supervisor.start()

        let context = try Context()
        let worker = try Socket(context, .req)
        worker.linger = 0
        try worker.connect("ipc://\(directory)/b")
        _ = try worker.send(frame: WireProtocol.readyText)
        #expect(try await eventually(within: 20) { holding.withLock { $0 } }, "the broker thread is held")

        let client = try Socket(context, .req)
        client.linger = 0
        try client.connect("ipc://\(directory)/c")
        _ = try client.send(frame: ControlCodec.encode(ControlRequest.status))

        // While the broker thread is held, the supervisor thread still answers: it did not wait for the broker.
        let answered = Mutex(false)
        let snapshot = Task {
            let metrics = await supervisor.snapshot()
            answered.withLock { $0 = true }
            return metrics
        }
        // (The broker thread stays held until the test lets it go, so the generous deadline only allows for a
        // loaded machine: a supervisor thread that waited for the broker would not answer at all.)
        #expect(try await eventually(within: 20) { answered.withLock { $0 } },
                "the supervisor thread answers while the broker thread is busy")

        held.withLock { $0 = false }
        #expect(await snapshot.value != nil)
        var reply: [[UInt8]] = []
        #expect(try await eventually(within: 20) { (try? client.receive(into: &reply, dontWait: true)) == true })
        let decoded = reply.first.flatMap { ControlCodec.decode(ControlReply.self, from: $0) }
        guard case .status(let report) = decoded else {
            Issue.record("expected a status reply, got \(String(describing: decoded))")
            return
        }
        #expect(report.broker.workers == 1, "the broker's part is in the reply")
        #expect(report.externalWorkers.count == 1, "and so are the workers the broker knows")

        worker.close()
        client.close()
        await supervisor.stop()
        await supervisor.waitUntilFinished()
        broker.stop()
    }
}
