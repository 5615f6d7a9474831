import Foundation
import Testing

/// The real `baton-example-worker` binary, built next to this test bundle, running with `arguments`; its
/// stdout and stderr go to a temporary file. It is killed, if still running, when this goes away.
final class WorkerProcess {
    /// The example worker, built next to this test bundle.
    static let path = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(
        atPath: "/proc/self/exe")) ?? "").deletingLastPathComponent().appendingPathComponent("baton-example-worker").path

    let process = Process()
    private let outputPath: String

    /// Starts the worker; `backend` becomes `BATON_BACKEND` (none: unset). No `BATON_WORKER_ID`: the
    /// worker is not managed, so it does not exit when the broker is silent.
    init(_ arguments: [String], backend: String?) throws {
        outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") }
        environment["BATON_BACKEND"] = backend
        environment["BATON_HEARTBEAT_MS"] = "100"
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash ends the process at once
        process.executableURL = URL(fileURLWithPath: Self.path)
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
        end()
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// SIGKILLs the worker if it still runs, and waits for it.
    func end() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Sends `signal` to the worker.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
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

    /// Waits for the worker to exit; returns its termination status, or nil if it is still running after 10 s.
    func exitStatus() -> Int32? {
        waitUntil("the worker exits") { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }
}
