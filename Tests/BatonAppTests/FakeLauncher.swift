import BatonProtocol
import Foundation
import Supervisor
import Synchronization

/// A ``WorkerLauncher`` with no processes: it records what the supervisor launches and signals, and the test
/// decides when a "process" exits. Pids are above the kernel's largest pid, so nothing real is ever touched.
final class FakeLauncher: WorkerLauncher, Sendable {
    struct State {
        var launches: [(pid: Int32, launch: WorkerLaunch)] = []
        var launchTimes: [Date] = []
        var signals: [(pid: Int32, signal: WorkerSignal)] = []
        var live: Set<Int32> = []
        var exited: [(pid: Int32, exit: ProcessExit)] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let pipe: (read: Int32, write: Int32)
    static let firstPid: Int32 = 1 << 30

    init() {
        var fds: [Int32] = [-1, -1]
        _ = Glibc.pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        pipe = (fds[0], fds[1])
    }

    var exitDescriptor: Int32 { pipe.read }
    var needsPolling: Bool { false }

    func launch(_ launch: WorkerLaunch) throws(LaunchFailure) -> Int32 {
        state.withLock { state in
            let pid = Self.firstPid + Int32(state.launches.count)
            state.launches.append((pid, launch))
            state.launchTimes.append(Date())
            state.live.insert(pid)
            return pid
        }
    }

    func signal(_ pid: Int32, _ signal: WorkerSignal) {
        state.withLock { $0.signals.append((pid, signal)) }
        // A well-behaved worker: it exits on the first signal, by that signal.
        exit(pid, ProcessExit(signal: signal.number))
    }

    func reapExited() -> [(pid: Int32, exit: ProcessExit)] {
        var byte: UInt8 = 0
        while Glibc.read(pipe.read, &byte, 1) == 1 {}
        return state.withLock { state in
            defer { state.exited = [] }
            return state.exited
        }
    }

    func close(killing: Bool) {
        state.withLock { $0.closed = true }
    }

    /// Makes a live "process" exit, as if it had crashed or been signalled.
    func exit(_ pid: Int32, _ status: ProcessExit) {
        let wasLive = state.withLock { state -> Bool in
            guard state.live.remove(pid) != nil else { return false }
            state.exited.append((pid, status))
            return true
        }
        if wasLive {
            var byte: UInt8 = 1
            _ = Glibc.write(pipe.write, &byte, 1)
        }
    }

    var launches: [(pid: Int32, launch: WorkerLaunch)] { state.withLock { $0.launches } }
    var launchTimes: [Date] { state.withLock { $0.launchTimes } }
    var signals: [(pid: Int32, signal: WorkerSignal)] { state.withLock { $0.signals } }
    var live: Set<Int32> { state.withLock { $0.live } }
    var isClosed: Bool { state.withLock { $0.closed } }

    deinit {
        Glibc.close(pipe.read)
        Glibc.close(pipe.write)
    }
}
