import CBatonSys
import Foundation

/// A cgroup (v2) that holds every worker process of one supervisor and whatever they start, so that the whole
/// tree can be ended at once, even processes that left their process group (`setsid`, double fork).
///
/// It is a child of the supervisor's own cgroup, named after the state directory, so the next supervisor on the
/// same directory finds what a killed one left in it. Where no cgroup v2 hierarchy is mounted or it is not
/// writable (no delegation), ``open(name:)`` returns nil and Baton relies on process groups alone.
public final class WorkerCgroup: Sendable {
    /// The cgroup's directory.
    public let path: String
    /// `cgroup.procs`, open for writing: a child writes `0` to it to join.
    public let procsFD: Int32
    /// `cgroup.kill`, open for writing (Linux 5.14 and later), or -1.
    public let killFD: Int32

    private init(path: String, procsFD: Int32, killFD: Int32) {
        self.path = path
        self.procsFD = procsFD
        self.killFD = killFD
    }

    deinit {
        close(procsFD)
        if killFD >= 0 { close(killFD) }
    }

    /// Opens (creating it if needed) the cgroup `name` under this process's cgroup v2; nil where that cannot be
    /// done.
    public static func open(name: String) -> WorkerCgroup? {
        guard let mount = cgroup2Mount(), let own = ownCgroup() else { return nil }
        let parent = mount + (own == "/" ? "" : own)
        let path = parent + "/" + name
        if mkdir(path, 0o700) != 0 && errno != EEXIST { return nil }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid() else { return nil }
        let procs = Glibc.open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        guard procs >= 0 else { return nil }
        let kill = Glibc.open(path + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        return WorkerCgroup(path: path, procsFD: procs, killFD: kill)
    }

    /// The pids in the cgroup now.
    public var members: [Int32] {
        guard let text = try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// SIGKILLs every process in the cgroup, and waits up to `timeout` seconds until it is empty; returns how
    /// many processes there were.
    @discardableResult
    public func killAll(timeout: Double = 2) -> Int {
        let found = members.count
        guard found > 0 else { return 0 }
        if killFD < 0 || baton_write_fd(killFD, "1") != 0 {
            for pid in members { _ = baton_kill(pid, SIGKILL) }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while !members.isEmpty && Date() < deadline { usleep(5_000) }
        return found
    }

    /// Removes the cgroup's directory (only possible once it is empty).
    public func remove() {
        _ = rmdir(path)
    }

    /// Where the cgroup v2 hierarchy is mounted (the unified one on a hybrid system), from /proc/self/mountinfo.
    static func cgroup2Mount() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            // "... mount-point options - fstype source super-options"
            let parts = line.split(separator: " - ", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix("cgroup2 ") else { continue }
            let fields = parts[0].split(separator: " ")
            if fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }

    /// This process's cgroup v2 path (the `0::` line of /proc/self/cgroup).
    static func ownCgroup() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
    }
}
