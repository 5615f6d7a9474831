import BatonProtocol
import CBatonSys
import Foundation

/// The real ``WorkerLauncher``: fork and exec, exits watched through pidfds in one epoll set, and only its
/// own children reaped (never `waitpid(-1)`).
///
/// A worker's whole process tree ends with it, so a worker command that is a wrapper script (which starts the
/// real server in the background) leaves nothing behind:
/// - each worker leads its own process group, gets SIGKILL when the supervisor dies (parent-death signal), and
///   is signalled as a group;
/// - the supervisor is a child subreaper, so a wrapper's orphans become its children and their process group
///   id stays reserved until it reaps them: when a worker's leader exits, what is left of its group gets
///   SIGTERM, then SIGKILL after the stop grace;
/// - a watchdog process that outlives the supervisor knows every live group, and when the supervisor dies
///   (even by SIGKILL) it SIGKILLs them all, and the pool's cgroup when there is one;
/// - with cgroup v2 available, every worker joins the pool's cgroup (``WorkerCgroup``), which also holds
///   processes that left their group.
/// Workers' stdout and stderr reach the supervisor through a pipe each, which it appends to
/// `logs/slot-N.log`, rotated by size (``RotatingLogFile``): a worker never writes to a file the supervisor
/// has rotated away, and output the worker's orphans write after it exited is kept until they end.
public final class ProcessLauncher: WorkerLauncher {
    private let logDirectory: String
    private let logPolicy: RotatingLogFile.Policy
    private let outputEpoll: Int32
    /// Output pipes being read: read end → slot.
    private var outputs: [Int32: Int] = [:]
    private var slotLogs: [Int: RotatingLogFile] = [:]
    private let epoll: Int32
    private let cgroup: WorkerCgroup?
    private let stopGrace: TimeSpan
    /// Live processes: pid → pidfd (-1 when the kernel gave none).
    private var pidfds: [Int32: Int32] = [:]
    /// Process groups whose leader has exited but that still have members: pgid → when to SIGKILL them.
    private var lingering: [Int32: UInt64] = [:]
    /// Worker ids of live workers, by pid.
    private var workerIDs: [Int32: WorkerID] = [:]
    /// Processes an exited worker started outside its group (daemons): pid → start time and when to SIGKILL.
    private var strays: [Int32: (start: UInt64, killAt: UInt64)] = [:]
    private var watchdog: (pid: Int32, channel: Int32)?
    /// Whether exited children it did not start are reaped too (the supervisor: yes; a process that has
    /// children of its own making, such as a test runner, must say no).
    private let reapsOrphans: Bool

    /// Creates a launcher whose workers write their output under `logDirectory`, join `cgroup` if given, and
    /// whose leftover processes get `stopGrace` between SIGTERM and SIGKILL.
    public init(logDirectory: String, cgroup: WorkerCgroup? = nil, stopGrace: TimeSpan = .seconds(5),
                logPolicy: RotatingLogFile.Policy = RotatingLogFile.Policy(), reapsOrphans: Bool = true) {
        self.logDirectory = logDirectory
        self.reapsOrphans = reapsOrphans
        self.logPolicy = logPolicy
        outputEpoll = baton_epoll_create()
        self.cgroup = cgroup
        self.stopGrace = stopGrace
        epoll = baton_epoll_create()
        _ = baton_set_child_subreaper()
        var channel: Int32 = -1
        let pid = baton_start_watchdog(cgroup?.killFD ?? -1, &channel)
        if pid > 0 { watchdog = (pid, channel) }
    }

    public var exitDescriptor: Int32 { epoll }

    public var needsPolling: Bool { epoll < 0 || pidfds.values.contains(-1) }

    /// Leftovers of exited workers past their grace get SIGKILL, and orphans adopted as child subreaper (which
    /// exit without any notice) are reaped, so they never pile up as zombies.
    public func tend() {
        endLingering(now: baton_monotonic_ns())
        reapOrphans()
    }

    /// Process groups of exited workers that still have members (for tests and status).
    public var lingeringGroups: [Int32] { Array(lingering.keys) }

    public func launch(_ launch: WorkerLaunch) throws(LaunchFailure) -> Int32 {
        let command = launch.command
        // The worker's stdout and stderr: a pipe the supervisor reads, or straight to the log when none can be made.
        var readEnd: Int32 = -1
        var writeEnd: Int32 = -1
        if baton_output_pipe(&readEnd, &writeEnd) != 0 { (readEnd, writeEnd) = (-1, -1) }
        defer { if writeEnd >= 0 { Glibc.close(writeEnd) } }
        if readEnd >= 0 { _ = slotLog(launch.slot) }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") }
        environment.merge(launch.environment) { _, new in new }
        let argv = [command.executable] + command.arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: Int32 = 0
        var pidfd: Int32 = -1
        let result = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envPointer in
                baton_spawn(command.executable, argvPointer, envPointer, writeEnd, writeEnd, cgroup?.procsFD ?? -1,
                            &pid, &pidfd)
            }
        }
        guard result == 0 else {
            if readEnd >= 0 { Glibc.close(readEnd) }
            let code = abs(result)
            throw LaunchFailure(reason: "cannot start \(command.executable): \(String(cString: strerror(code)))",
                                permanent: result > 0 && [ENOENT, EACCES, ENOEXEC, ENOTDIR, EISDIR].contains(code))
        }
        pidfds[pid] = pidfd
        if pidfd >= 0 && epoll >= 0 { _ = baton_epoll_add(epoll, pidfd, UInt64(pid)) }
        if let watchdog { _ = baton_watchdog_note(watchdog.channel, 1, pid) }
        workerIDs[pid] = launch.workerID
        if readEnd >= 0 {
            outputs[readEnd] = launch.slot
            if outputEpoll >= 0 { _ = baton_epoll_add(outputEpoll, readEnd, UInt64(readEnd)) }
        }
        return pid
    }

    public var outputDescriptor: Int32 { outputEpoll }

    public func pumpOutput() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        for (fd, slot) in outputs {
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.withUnsafeBytes { slotLog(slot)?.write(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                if count == 0 {
                    // Every writer is gone (the worker and whatever it started).
                    if outputEpoll >= 0 { _ = baton_epoll_remove(outputEpoll, fd) }
                    Glibc.close(fd)
                    outputs[fd] = nil
                }
                break
            }
        }
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
            // What the worker started may still run (a wrapper's server): it gets SIGTERM while the worker is a
            // zombie, so the group id cannot have been given to anyone else yet.
            guard baton_reap_tree(pid, SIGTERM, &code, &signal) == 1 else { continue }
            if pidfd >= 0 {
                if epoll >= 0 { _ = baton_epoll_remove(epoll, pidfd) }
                Glibc.close(pidfd)
            }
            pidfds[pid] = nil
            exited.append((pid, signal != 0 ? ProcessExit(signal: signal) : ProcessExit(code: code)))
            if let workerID = workerIDs.removeValue(forKey: pid) { endDaemons(of: workerID, pid: pid) }
            // Members left keep the group id reserved: they get the stop grace, then SIGKILL.
            if baton_kill(-pid, 0) == 0 {
                lingering[pid] = baton_monotonic_ns() + stopGrace.nanoseconds
            } else {
                forget(group: pid)
            }
        }
        tend()
        return exited
    }

    /// Sends SIGTERM to what an exited worker started outside its process group (found by its BATON_WORKER_ID, in
    /// the pool's cgroup when there is one, else in /proc), and SIGKILL after the stop grace.
    private func endDaemons(of workerID: WorkerID, pid: Int32) {
        let among = cgroup.map { $0.members }
        let killAt = baton_monotonic_ns() + stopGrace.nanoseconds
        for stray in ProcessTable.processes(withEnvironment: "BATON_WORKER_ID", equalTo: workerID.name, among: among) {
            guard let entry = ProcessTable.entry(of: stray), entry.pgid != pid else { continue }
            _ = baton_kill(stray, SIGTERM)
            strays[stray] = (entry.startTime, killAt)
        }
    }

    /// Reaps exited children this launcher did not start: a wrapper's orphans, adopted as child subreaper.
    private func reapOrphans() {
        guard reapsOrphans else { return }
        var tracked = Array(pidfds.keys)
        if let watchdog { tracked.append(watchdog.pid) }
        _ = baton_reap_orphans(tracked, Int32(tracked.count), 256)
    }

    /// Reaps what is left of exited workers' groups, SIGKILLs groups past their grace, forgets empty ones.
    private func endLingering(now: UInt64) {
        for (pid, stray) in strays {
            // Still the same process (a pid the kernel has not given to another), and past its grace?
            guard ProcessTable.entry(of: pid)?.startTime == stray.start else {
                strays[pid] = nil
                continue
            }
            if now >= stray.killAt {
                _ = baton_kill(pid, SIGKILL)
                strays[pid] = nil
            }
        }
        for (pgid, killAt) in lingering {
            // Orphans are this process's children (it is their subreaper): reaping them is what frees the group.
            if baton_reap_group(pgid) == 0 && baton_kill(-pgid, 0) != 0 {
                lingering[pgid] = nil
                forget(group: pgid)
            } else if now >= killAt {
                _ = baton_kill(-pgid, SIGKILL)
            }
        }
    }

    private func forget(group pgid: Int32) {
        if let watchdog { _ = baton_watchdog_note(watchdog.channel, 0, pgid) }
    }

    public func close(killing: Bool) {
        if killing { for pid in pidfds.keys { signal(pid, .kill) } }
        // Leftovers of exited workers get the rest of their grace, then SIGKILL.
        while !lingering.isEmpty || !strays.isEmpty {
            endLingering(now: baton_monotonic_ns())
            if !lingering.isEmpty { usleep(10_000) }
        }
        if let cgroup {
            cgroup.killAll()
            cgroup.remove()
        }
        pumpOutput()
        for fd in outputs.keys { Glibc.close(fd) }
        outputs = [:]
        slotLogs = [:]
        if epoll >= 0 { Glibc.close(epoll) }
        if outputEpoll >= 0 { Glibc.close(outputEpoll) }
        if let watchdog {
            // Closing the channel ends the watchdog (every group it knew of is gone by now).
            Glibc.close(watchdog.channel)
            var code: Int32 = 0
            var signal: Int32 = 0
            for _ in 0..<200 where baton_reap(watchdog.pid, &code, &signal) == 0 { usleep(5_000) }
            self.watchdog = nil
        }
    }

    /// The log of a slot's workers' stdout and stderr.
    private func slotLog(_ slot: Int) -> RotatingLogFile? {
        if let log = slotLogs[slot] { return log }
        try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        // Never through a symbolic link: the state directory was checked at start, this keeps it so.
        let log = RotatingLogFile(path: logDirectory + "/slot-\(slot).log", policy: logPolicy)
        slotLogs[slot] = log
        return log
    }
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
