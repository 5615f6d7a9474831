import Broker
import Foundation
import Logging
import Testing
import ZeroMQ

/// A real ``BrokerServer`` on loopback ports (heartbeats every 100 ms, liveness 3) and the real
/// `baton-example-worker` binary connected to it.
final class WorkerFixture {
    /// The example worker, built next to this test bundle.
    static let workerPath = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(
        atPath: "/proc/self/exe")) ?? "").deletingLastPathComponent().appendingPathComponent("baton-example-worker").path

    let server: BrokerServer
    let endpoints: BrokerServer.BoundEndpoints
    let context: Context
    let process = Process()
    let outputPath: String

    /// Starts the broker, then the worker with `arguments`; `backend: false` leaves `BATON_BACKEND` unset.
    init(_ arguments: [String], backend: Bool = true,
         _ configure: (inout BrokerServer.Options) -> Void = { _ in }) throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        options.policy.heartbeatInterval = 100_000_000
        options.policy.heartbeatLiveness = 3
        configure(&options)
        var logger = Logger(label: "example-worker-test")
        logger.logLevel = .critical
        server = try BrokerServer(options: options, logger: logger)
        endpoints = try server.start()
        context = try Context()
        outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") }
        if backend { environment["BATON_BACKEND"] = endpoints.backend }
        environment["BATON_HEARTBEAT_MS"] = "100"
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash ends the process at once
        process.executableURL = URL(fileURLWithPath: Self.workerPath)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        // The test runner's threads block SIGTERM and SIGINT, and a child inherits that mask through exec: the
        // worker must unblock them itself (as it does), or SIGTERM would never stop it. Spawning as is proves it.
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        server.stop()
        context.terminate()
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// What the worker printed on stdout and stderr.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Polls `condition` until it holds or 10 s pass; records an issue if it never does.
    @discardableResult
    func waitUntil(_ what: String, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        Issue.record("timed out waiting until \(what)\n\(output)")
        return false
    }

    /// Waits until the broker knows the worker and returns what it knows.
    @discardableResult
    func registered() throws -> WorkerSummary? {
        try waitUntil("the worker is registered") { try server.statsBlocking().workers == 1 }
        return try server.workersBlocking().first
    }

    /// Waits for the worker to exit; returns its termination status, or nil if it is still running after 10 s.
    func exitStatus() -> Int32? {
        waitUntil("the worker exits") { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Sends one request of `frames` over a fresh REQ socket and returns the reply's frames.
    func call(_ frames: [[UInt8]]) throws -> [[UInt8]]? {
        let socket = try Socket(context, .req)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 10_000)
        try socket.connect(endpoints.frontend)
        try socket.send(frames: frames)
        return try socket.receive()?.frames
    }

    /// Sends one request of text frames and returns the reply as text frames.
    func call(_ texts: String...) throws -> [String] {
        try call(texts.map { Array($0.utf8) })?.map { String(decoding: $0, as: UTF8.self) } ?? ["<no reply>"]
    }
}
