import CBatonSys
import Foundation

/// The real ``WorkerLauncher``: fork and exec (each worker leads its own process group, dies with the
/// supervisor through its parent-death signal, and writes stdout and stderr to `logs/slot-N.log`), exits
/// watched through pidfds in one epoll set, and only its own pids reaped (never `waitpid(-1)`).
public final class ProcessLauncher: WorkerLauncher {
    private let logDirectory: String
    private let epoll: Int32
    /// Live processes: pid → pidfd (-1 when the kernel gave none).
    private var pidfds: [Int32: Int32] = [:]
    private var logFiles: [Int: Int32] = [:]

    /// Creates a launcher whose workers write their output under `logDirectory`.
    public init(logDirectory: String) {
        self.logDirectory = logDirectory
        epoll = baton_epoll_create()
    }

    public var exitDescriptor: Int32 { epoll }

    public var needsPolling: Bool { epoll < 0 || pidfds.values.contains(-1) }

    public func launch(_ launch: WorkerLaunch) throws(LaunchFailure) -> Int32 {
        let command = launch.command
        let logFD = logFile(slot: launch.slot)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") }
        environment.merge(launch.environment) { _, new in new }
        let argv = [command.executable] + command.arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: Int32 = 0
        var pidfd: Int32 = -1
        let result = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                baton_spawn(command.executable, argvPointer, envPointer, logFD, logFD, &pid, &pidfd)
            }
        }
        guard result == 0 else {
            let code = abs(result)
            throw LaunchFailure(reason: "cannot start \(command.executable): \(String(cString: strerror(code)))",
                                permanent: result > 0 && [ENOENT, EACCES, ENOEXEC, ENOTDIR, EISDIR].contains(code))
        }
        pidfds[pid] = pidfd
        if pidfd >= 0 && epoll >= 0 { _ = baton_epoll_add(epoll, pidfd, UInt64(pid)) }
        return pid
    }

    public func signal(_ pid: Int32, _ signal: WorkerSignal) {
        // The worker leads its own process group: signal the group, so its children go too.
        if baton_kill(-pid, signal.number) != 0 { _ = baton_kill(pid, signal.number) }
    }

    public func reapExited() -> [(pid: Int32, exit: ProcessExit)] {
        var exited: [(Int32, ProcessExit)] = []
        for (pid, pidfd) in pidfds {
            var code: Int32 = 0
            var signal: Int32 = 0
            guard baton_reap(pid, &code, &signal) == 1 else { continue }
            if pidfd >= 0 {
                if epoll >= 0 { _ = baton_epoll_remove(epoll, pidfd) }
                Glibc.close(pidfd)
            }
            pidfds[pid] = nil
            exited.append((pid, signal != 0 ? ProcessExit(signal: signal) : ProcessExit(code: code)))
        }
        return exited
    }

    public func close(killing: Bool) {
        if killing { for pid in pidfds.keys { signal(pid, .kill) } }
        for fd in logFiles.values { Glibc.close(fd) }
        logFiles = [:]
        if epoll >= 0 { Glibc.close(epoll) }
    }

    /// The append-only log file a slot's workers write their stdout and stderr to.
    private func logFile(slot: Int) -> Int32 {
        if let fd = logFiles[slot] { return fd }
        try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        // Never through a symbolic link: the state directory was checked at start, this keeps it so.
        let fd = open(logDirectory + "/slot-\(slot).log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                      0o600)
        if fd >= 0 { logFiles[slot] = fd }
        return fd
    }
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
