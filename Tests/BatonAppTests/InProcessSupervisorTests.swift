import BatonProtocol
import BatonApp
import Broker
import Foundation
import Logging
import Supervisor
import Synchronization
import Testing

@Suite("The composition root runs in-process with a fake launcher", .serialized, .timeLimit(.minutes(3)))
struct InProcessSupervisorTests {
    /// Waits until `condition` holds, up to `seconds`.
    func waitUntil(_ seconds: Double = 30, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    func makeConfiguration(_ launcher: FakeLauncher, stateDirectory: String) -> BatonConfiguration {
        var configuration = BatonConfiguration()
        configuration.stateDirectory = stateDirectory
        configuration.frontend = "tcp://127.0.0.1:*"
        configuration.backend = "tcp://127.0.0.1:*"
        configuration.workers = 2
        configuration.command = WorkerCommand(executable: "/bin/true", arguments: ["--serve"])
        configuration.history = false
        configuration.restart.initialDelay = .milliseconds(1)
        configuration.restart.jitter = 0
        configuration.stopGrace = .seconds(1)
        configuration.workerEnvironment = ["GAME_REGION": "eu"]
        configuration.makeLauncher = { _ in launcher }
        return configuration
    }

    /// An application on a fresh state directory (removed by the caller), quiet in the test log.
    func makeApplication(_ launcher: FakeLauncher) -> (BatonApplication, directory: String) {
        let directory = "/tmp/baton-app-\(UInt32.random(in: 0 ... .max))"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return (BatonApplication(configuration: makeConfiguration(launcher, stateDirectory: directory), logger: logger),
                directory)
    }

    @Test("workers are launched with the contract's environment, a crashed one is relaunched, and stop ends all")
    func launchRestartAndStop() async throws {
        let launcher = FakeLauncher()
        let (application, directory) = makeApplication(launcher)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = Mutex<String?>(nil)
        let running = Task {
            try await application.run(handleSignals: false) { endpoints in backend.withLock { $0 = endpoints.backend } }
        }

        let started = Date()
        #expect(try await waitUntil { launcher.launches.count == 2 },
                "launched after \(launcher.launchTimes.map { $0.timeIntervalSince(started) }) s")
        let first = launcher.launches
        #expect(Set(first.map(\.launch.slot)) == [1, 2])
        for (_, launch) in first {
            #expect(launch.command == WorkerCommand(executable: "/bin/true", arguments: ["--serve"]))
            #expect(launch.environment["BATON_WORKER_ID"] == launch.workerID.name)
            #expect(launch.environment["BATON_SLOT"] == "\(launch.slot)")
            #expect(launch.environment["BATON_BACKEND"] == backend.withLock { $0 })
            #expect(launch.environment["BATON_GENERATION"] == "1")
            #expect(launch.environment["GAME_REGION"] == "eu")
        }
        #expect(Set(first.map(\.launch.workerID)).count == 2, "worker ids are never reused")

        // Slot 1's process crashes: the supervisor launches a new worker, with a new id, in the same slot.
        let crashed = try #require(first.first { $0.launch.slot == 1 })
        launcher.exit(crashed.pid, ProcessExit(code: 3))
        #expect(try await waitUntil { launcher.launches.count == 3 })
        let replacement = try #require(launcher.launches.last)
        #expect(replacement.launch.slot == 1)
        #expect(replacement.launch.workerID != crashed.launch.workerID)

        // A graceful stop signals every live worker with SIGTERM and returns once they have exited.
        await application.stop()
        try await running.value
        #expect(launcher.live.isEmpty)
        #expect(Set(launcher.signals.map(\.pid)) == Set(launcher.launches.map(\.pid)).subtracting([crashed.pid]))
        #expect(launcher.signals.allSatisfy { $0.signal == .terminate })
        #expect(launcher.isClosed)
    }

    @Test("a stop requested before serving begins ends the run as soon as it starts")
    func stopBeforeServing() async throws {
        let launcher = FakeLauncher()
        let (application, directory) = makeApplication(launcher)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        await application.stop()
        try await application.run(handleSignals: false)
        #expect(launcher.live.isEmpty)
    }

    @Test("a second application on the same state directory fails to start with the reason")
    func lockedStateDirectory() async throws {
        let launcher = FakeLauncher()
        let (application, directory) = makeApplication(launcher)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let running = Task { try await application.run(handleSignals: false) }
        #expect(try await waitUntil { launcher.launches.count == 2 })
        let second = BatonApplication(configuration: makeConfiguration(FakeLauncher(), stateDirectory: directory),
                                      logger: application.logger)
        await #expect { try await second.run(handleSignals: false) } throws: { error in
            "\(error)".contains("another supervisor")
        }
        await application.stop()
        try await running.value
    }
}
