import Foundation
import Supervisor
import Testing
import ZeroMQ

extension Harness {
    /// The bundled example worker, built next to `baton`.
    static var exampleWorkerPath: String {
        URL(fileURLWithPath: batonPath).deletingLastPathComponent().appendingPathComponent("baton-example-worker").path
    }
}

/// `baton serve` with managed workers in a temporary directory, plus helpers to watch it.
final class ManagedServe {
    let directory: String
    let child: Child
    let frontend: String
    let stateDir: String

    init(workers: Int, options: [String] = [], command: [String] = []) throws {
        directory = try Harness.temporaryDirectory()
        stateDir = directory + "/state"
        frontend = "ipc://\(directory)/fe"
        child = try Child.baton(["serve", "--frontend", frontend, "--state-dir", stateDir, "--workers", "\(workers)",
                                 "--heartbeat-interval", "200"] + options + (command.isEmpty ? [] : ["--"] + command),
                                directory: directory)
    }

    deinit {
        child.signal(SIGKILL)
        _ = child.wait(seconds: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The supervisor's status, or nil if it does not answer.
    func status() -> StatusReport? {
        supervisorStatus(stateDir: stateDir, directory: directory)
    }

    /// Polls the status until `condition` holds, up to `seconds`; returns the last status.
    @discardableResult
    func waitForStatus(_ what: String, seconds: Double = 15, _ condition: (StatusReport) -> Bool) -> StatusReport? {
        BatonCLITests.waitForStatus(what, stateDir: stateDir, directory: directory, seconds: seconds, log: child,
                                    condition)
    }

    /// Sends one request over a fresh REQ socket and returns the reply's frames as text.
    func call(_ body: String, timeoutMilliseconds: Int32 = 5_000) throws -> [String] {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .req)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
        try socket.connect(frontend)
        try socket.send(frame: Array(body.utf8))
        return try socket.receive()?.frames.map { String(decoding: $0, as: UTF8.self) } ?? ["<no reply>"]
    }
}

/// The status of the supervisor on `stateDir`, or nil if it does not answer.
func supervisorStatus(stateDir: String, directory: String) -> StatusReport? {
    guard let (status, output) = try? runBaton(["status", "--state-dir", stateDir, "--json", "--timeout", "2"],
                                               directory: directory),
          status == 0 || status == 1  // 1: answered, but a slot failed or no worker is ready
    else { return nil }
    return try? JSONDecoder().decode(StatusReport.self, from: Data(output.utf8))
}

/// Polls the supervisor's status until `condition` holds, up to `seconds`; returns the last status. On timeout
/// records an issue with the last status and `log`'s output.
@discardableResult
func waitForStatus(_ what: String, stateDir: String, directory: String, seconds: Double = 15, log: Child,
                   _ condition: (StatusReport) -> Bool) -> StatusReport? {
    let deadline = Date().addingTimeInterval(seconds)
    var last: StatusReport?
    while Date() < deadline {
        last = supervisorStatus(stateDir: stateDir, directory: directory)
        if let last, condition(last) { return last }
        Thread.sleep(forTimeInterval: 0.05)
    }
    Issue.record("timed out waiting until \(what); last status: \(String(describing: last))\n\(log.output)")
    return last
}

/// Whether a process is gone (no /proc entry, or a zombie waiting for its new parent to reap it).
func processIsGone(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}
