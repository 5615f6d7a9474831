import CBatonSys
import Foundation
import Logging

/// The file in the state directory that lists the supervisor's live worker processes (`workers.pids`), so a
/// supervisor that starts after one was killed can find and end the workers it left behind.
///
/// Each line is `pid starttime worker-id`; `starttime` is the process start time from `/proc/PID/stat`, so a
/// pid that the kernel has since given to another process is never killed.
public struct WorkerRegistry: Sendable {
    /// Path of the file.
    public let path: String

    /// A registry in a state directory.
    public init(directory: String) {
        path = directory + "/workers.pids"
    }

    /// Replaces the file's contents with the given live workers.
    public func record(_ workers: [(pid: Int32, workerID: String)]) {
        let lines = workers.compactMap { worker -> String? in
            guard let start = Self.startTime(of: worker.pid) else { return nil }
            return "\(worker.pid) \(start) \(worker.workerID)\n"
        }
        let temporary = path + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: Data(lines.joined().utf8),
                                          attributes: [.posixPermissions: 0o600]) {
            _ = rename(temporary, path)
        }
    }

    /// Ends (SIGKILL) every recorded worker that is still the same process, and what is left of its process
    /// group (also when the worker itself is gone: a wrapper's server), and returns how many processes there were.
    @discardableResult
    public func endLeftovers(logger: Logger) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        var ended = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let pid = Int32(fields[0]), let start = UInt64(fields[1]), pid > 1 else { continue }
            // Only processes that started no earlier than the recorded worker and are in its group: a pid or a
            // group id the kernel has since given to something else is never touched.
            let leftovers = ProcessTable.members(ofGroup: pid, startedNotBefore: start)
            let leaderAlive = Self.startTime(of: pid) == start
            guard leaderAlive || !leftovers.isEmpty else { continue }
            logger.warning("ending a worker left by a previous supervisor",
                           metadata: ["pid": "\(pid)", "worker": "\(fields.count > 2 ? String(fields[2]) : "?")",
                                      "processes": "\(leftovers.count)"])
            for member in leftovers { _ = baton_kill(member, SIGKILL) }
            if leaderAlive { _ = baton_kill(pid, SIGKILL) }
            ended += max(leftovers.count, 1)
        }
        record([])
        return ended
    }

    /// The start time (clock ticks after boot) of a process, or nil if there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3 (state); starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
