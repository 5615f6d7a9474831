import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

extension CounterCoverageTests {
    /// `serve --workers 0` under a 128-descriptor limit, with 160 clients: the last are closed at accept.
    func descriptorsRunOut(_ coverage: CounterCoverage) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else { return }
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let frontend = "ipc://\(directory)/fe"
        let serve = try Child("/usr/bin/prlimit", ["--nofile=128:128", Harness.batonPath, "serve",
                                                   "--frontend", frontend, "--state-dir", directory + "/state",
                                                   "--workers", "0", "--max-clients", "1000", "--no-history"],
                              name: "serve", directory: directory)
        defer { serve.signal(SIGKILL) }
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let probe = CounterSampler(coverage: coverage, stateDir: directory + "/state", directory: directory,
                                   port: nil, serve: serve)
        let wire = try WireContext()
        defer { wire.close() }
        let clients = try (0..<160).map { _ in try wire.connect(.dealer, frontend) }
        // The broker logs the first connection it closed for want of a descriptor.
        #expect(serve.waitForOutput("no descriptor left", seconds: 20), "\(serve.output)")
        for client in clients { client.close() }
        probe.waitForStatus("connections closed at accept counted", seconds: 10, required: false) {
            ($0.descriptors?.droppedAtLimit ?? 0) > 0 && $0.broker.connections.acceptFailures > 0
        }
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0, "\(serve.output)")
    }
}
