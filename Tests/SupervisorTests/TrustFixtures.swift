import Foundation
import Logging
import Synchronization
import Supervisor
import Testing

/// The uid of `nobody`, which owns nothing the tests run as: used to plant files owned by another user.
let nobodyUID: UInt32 = 65534

/// Whether the tests run as root, and so can plant files owned by another user.
let runningAsRoot = geteuid() == 0

/// A fresh directory under /tmp with the given mode (mkdtemp gives 0700), removed by the caller.
func makeTemporaryDirectory(mode: mode_t = 0o700) throws -> String {
    var template = Array("/tmp/st-XXXXXX".utf8CString)
    guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw CocoaError(.fileWriteUnknown)
    }
    let directory = String(cString: path)
    chmod(directory, mode)
    return directory
}

/// Removes a directory tree, first making it ours and writable again.
func removeTree(_ path: String) {
    _ = chown(path, geteuid(), getegid())
    _ = chmod(path, 0o700)
    try? FileManager.default.removeItem(atPath: path)
}

/// A real process to plant in `workers.pids`: `sleep 30`, killed by the caller.
func startSleeper() throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sleep")
    process.arguments = ["30"]
    try process.run()
    return process
}

/// Writes a `workers.pids` line naming `process` (its pid and its real start time) into `directory`.
func plantRegistry(in directory: String, naming process: Process) throws {
    let pid = process.processIdentifier
    let start = try #require(WorkerRegistry.startTime(of: pid))
    try "\(pid) \(start) planted-1-1\n".write(toFile: directory + "/workers.pids", atomically: false, encoding: .utf8)
}

/// A log handler that keeps every message with its metadata, to count what was logged.
struct CollectingLogHandler: LogHandler {
    let sink: LogCollector
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let details = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        sink.append(([event.message.description] + details).joined(separator: " "))
    }
}

/// Collected log lines.
final class LogCollector: Sendable {
    private let storage = Mutex<[String]>([])

    /// A logger whose lines end up here.
    var logger: Logger {
        Logger(label: "test") { _ in CollectingLogHandler(sink: self) }
    }

    var lines: [String] { storage.withLock { $0 } }

    func append(_ line: String) {
        storage.withLock { $0.append(line) }
    }
}
