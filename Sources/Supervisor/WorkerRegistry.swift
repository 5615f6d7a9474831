import BatonProtocol
import CBatonSys
import Foundation
import Logging

/// The file in the state directory that lists the supervisor's live worker processes (`workers.pids`), so a
/// supervisor that starts after one was killed can find and end the workers it left behind.
///
/// Each line is `pid starttime worker-id`; `starttime` is the process start time from `/proc/PID/stat`, so a
/// pid that the kernel has since given to another process is never killed.
public struct WorkerRegistry: Sendable {
    /// The state directory that holds the file.
    public let directory: String
    /// Path of the file.
    public let path: String

    /// A registry in a state directory.
    public init(directory: String) {
        self.directory = directory
        path = directory + "/workers.pids"
    }

    /// Replaces the file's contents with the given live workers.
    public func record(_ workers: [(pid: Int32, workerID: WorkerID)]) {
        let lines = workers.compactMap { worker -> String? in
            guard let start = Self.startTime(of: worker.pid) else { return nil }
            return "\(worker.pid) \(start) \(worker.workerID.name)\n"
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(lines.joined().utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written == bytes.count { _ = rename(temporary, path) }
    }

    /// Ends (SIGKILL) every recorded worker that is still the same process, and what is left of its process
    /// group (also when the worker itself is gone: a wrapper's server), and returns how many processes there were.
    ///
    /// Throws ``SupervisorError`` (`.untrusted`), and ends nothing, when the directory or the file could have
    /// been written by another user (see ``FileTrust``): a planted line would make the supervisor kill a
    /// process of someone else's choosing.
    @discardableResult
    public func endLeftovers(logger: Logger) throws(SupervisorError) -> Int {
        guard let text = try readTrusted() else { return 0 }
        var ended = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let pid = Int32(fields[0]), let start = UInt64(fields[1]), pid > 1 else { continue }
            // Only the recorded process itself (same start time), and processes in its group that started no
            // earlier and carry its BATON_WORKER_ID: a pid or a group id the kernel has since given to
            // something else is never touched.
            let workerID = fields.count > 2 ? String(fields[2]) : nil
            let leaderAlive = Self.startTime(of: pid) == start
            let leftovers = ProcessTable.members(ofGroup: pid, startedNotBefore: start).filter { member in
                (member == pid && leaderAlive)
                    || workerID.map { ProcessTable.environment(of: member, has: "BATON_WORKER_ID", equalTo: $0) } == true
            }
            guard leaderAlive || !leftovers.isEmpty else { continue }
            logger.warning("ending a worker left by a previous supervisor",
                           metadata: ["pid": "\(pid)", "worker": "\(workerID ?? "?")",
                                      "processes": "\(leftovers.count)"])
            for member in leftovers { _ = baton_kill(member, SIGKILL) }
            if leaderAlive { _ = baton_kill(pid, SIGKILL) }
            ended += max(leftovers.count, 1)
        }
        record([])
        return ended
    }

    /// The file's text, or nil when there is none; throws unless the directory and the file are trusted.
    /// The file is opened without following a symbolic link and checked on the open descriptor.
    private func readTrusted() throws(SupervisorError) -> String? {
        let uid = geteuid()
        let resolved = try FileTrust.resolvingParent(of: directory)
        try FileTrust.verifyAncestors(of: resolved, uid: uid)
        try FileTrust.verify(resolved, .directory, uid: uid)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw SupervisorError(.untrusted, "refusing \(path): it is a symbolic link") }
            throw SupervisorError(.stateDirectory, "cannot open \(path)", errno: code)
        }
        defer { close(fd) }
        guard let trust = FileTrust(descriptor: fd) else {
            throw SupervisorError(.stateDirectory, "cannot check \(path)", errno: errno)
        }
        try trust.require(.regularFile, uid: uid, path: path)
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while data.count < 16 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            data += buffer.prefix(count)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The start time (clock ticks after boot) of a process, or nil if there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        ProcessTable.entry(of: pid)?.startTime
    }
}
