import Foundation
import Supervisor
import Testing

/// A small tmpfs mounted at `DIRECTORY/state` for disk-full tests. Mounting needs root: tests that use it are
/// enabled only when ``available``.
final class SmallDisk {
    /// Whether a tmpfs can be mounted here (root, and a kernel that lets this process mount).
    static let available: Bool = {
        guard getuid() == 0, let probe = try? SmallDisk(megabytes: 1) else { return false }
        probe.unmount()
        return true
    }()

    /// A fresh temporary directory holding the mount point.
    let directory: String
    /// The mount point, to use as a state directory (mode 0700, root's).
    var state: String { directory + "/state" }
    private var filler: String { state + "/filler" }
    private var mounted = false

    init(megabytes: Int) throws {
        directory = try Harness.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true)
        let options = "size=\(megabytes)m,mode=0700"
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", directory + "/state"]) else {
            try? FileManager.default.removeItem(atPath: directory)
            throw CocoaError(.fileWriteNoPermission)
        }
        mounted = true
    }

    /// Fills the disk with a file until a write fails for lack of space.
    func fill() {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        for size in [1 << 16, 1 << 12, 1] {
            let chunk = [UInt8](repeating: 0x5a, count: size)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) == size {}
        }
        #expect(errno == ENOSPC)
    }

    /// Removes what ``fill()`` wrote.
    func free() {
        _ = unlink(filler)
    }

    /// Unmounts the disk (what is on it is gone).
    func unmount() {
        if mounted { _ = Self.run("/bin/umount", ["-l", state]) }
        mounted = false
    }

    deinit {
        unmount()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// `baton serve` with one managed worker on a state directory the test prepared (on a ``SmallDisk``, say).
struct ServeOnState {
    let child: Child
    let directory: String
    let stateDir: String
    let frontend: String

    init(directory: String, stateDir: String, name: String) throws {
        self.directory = directory
        self.stateDir = stateDir
        frontend = "ipc://\(directory)/fe"
        child = try Child.baton(["serve", "--frontend", frontend, "--state-dir", stateDir, "--workers", "1",
                                 "--heartbeat-interval", "200"], name: name, directory: directory)
    }

    /// Polls the status until `condition` holds; records an issue on timeout.
    @discardableResult
    func waitForStatus(_ what: String, seconds: Double = 30, _ condition: (StatusReport) -> Bool) -> StatusReport? {
        BatonCLITests.waitForStatus(what, stateDir: stateDir, directory: directory, seconds: seconds, log: child,
                                    condition)
    }

    /// Sends `total` requests with `baton bench` and expects every one answered.
    func bench(_ total: Int) throws {
        let (status, output) = try runBaton(["bench", "--frontend", frontend, "--clients", "2", "--total", "\(total)"],
                                            directory: directory, seconds: 60)
        #expect(status == 0 && output.contains("matched=\(total) errors=0 lost=0"), "\(output)")
    }

    /// SIGTERM, and expects exit status 0.
    func stop() {
        child.signal(SIGTERM)
        #expect(child.wait(seconds: 30) == 0, "\(child.output)")
    }
}
