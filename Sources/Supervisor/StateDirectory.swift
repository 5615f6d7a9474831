import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's state directory: the database, the ipc endpoints, and a lock that keeps a second
/// supervisor out.
///
/// The lock is an `flock` on `supervisor.lock`, held for the life of the process and released by the kernel
/// when it exits, however it exits; the file also holds the owner's pid, for the error a second supervisor
/// prints.
///
/// Nothing in it is used unless it can be trusted (see ``FileTrust``): the directory and every file Baton
/// uses in it must belong to the running uid and be writable by nobody else, and no directory above it may
/// be changed by another user. Its ipc sockets live in it, or in a private runtime directory when its path
/// is too long for a socket address (see ``RuntimeDirectory``); never in the abstract socket namespace.
public final class StateDirectory: Sendable {
    /// Absolute path of the directory, with symbolic links above it resolved.
    public let path: String
    /// The directory that holds the ipc sockets: ``path`` itself, or a private runtime directory.
    public let socketDirectory: String
    private let lockFD: Int32

    /// The files and directories Baton uses in a state directory, with what each must be.
    public static let contents: [(name: String, kind: FileTrust.Kind)] = [
        ("workers.pids", .regularFile), ("workers.pids.tmp", .regularFile),
        ("baton.sqlite", .regularFile), ("baton.sqlite-wal", .regularFile), ("baton.sqlite-shm", .regularFile),
        ("baton.sqlite-journal", .regularFile), ("logs", .directory),
        ("control.ipc", .socket), ("backend.ipc", .socket),
    ]

    /// Creates the directory if needed (mode 0700), checks that it and what it holds can be trusted, and takes
    /// its lock.
    ///
    /// Throws ``SupervisorError`` with code `.stateDirectoryLocked` if another live process holds it, and
    /// `.untrusted` naming the path and the reason if it, a file in it, or a directory above it is not safe.
    public init(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(SupervisorError)
    {
        let uid = geteuid()
        let absolute: String
        do {
            absolute = try FileTrust.trustedDirectory(URL(fileURLWithPath: path).standardizedFileURL.path, uid: uid)
        } catch where error.code == .stateDirectory {
            throw SupervisorError(.stateDirectory, "cannot create state directory \(path) (choose one this user "
                                  + "may write with --state-dir): \(error.message)", errno: error.errno)
        }
        self.path = absolute
        let lockPath = absolute + "/supervisor.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP { throw SupervisorError(.untrusted, "refusing \(lockPath): it is a symbolic link") }
            throw SupervisorError(.stateDirectory, "cannot use state directory \(absolute) (choose one this user "
                                  + "may write with --state-dir): cannot open \(lockPath)", errno: code)
        }
        do throws(SupervisorError) {
            guard let trust = FileTrust(descriptor: fd) else {
                throw SupervisorError(.stateDirectory, "cannot check \(lockPath)", errno: errno)
            }
            try trust.require(.regularFile, uid: uid, path: lockPath)
            try Self.lock(fd, path: absolute)
            try Self.verifyContents(of: absolute, uid: uid)
            socketDirectory = RuntimeDirectory.fitsInStateDirectory(absolute)
                ? absolute : try RuntimeDirectory.create(for: absolute, uid: uid, environment: environment)
            if socketDirectory != absolute {
                for name in ["control.ipc", "backend.ipc"] {
                    try FileTrust.verifyIfPresent(socketDirectory + "/" + name, .socket, uid: uid)
                }
            }
        } catch {
            close(fd)
            throw error
        }
        lockFD = fd
    }

    deinit { close(lockFD) }

    /// Takes the lock on the open `supervisor.lock` and writes this process's pid in it.
    private static func lock(_ fd: Int32, path: String) throws(SupervisorError) {
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &buffer, buffer.count)
            let owner = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if code == EWOULDBLOCK {
                throw SupervisorError(.stateDirectoryLocked,
                                      "another supervisor (pid \(owner.isEmpty ? "?" : owner)) is using \(path)")
            }
            throw SupervisorError(.stateDirectory, "cannot lock \(path)/supervisor.lock", errno: code)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Checks every file Baton uses in the directory (see ``contents``) and the slot logs in `logs/`.
    static func verifyContents(of directory: String, uid: UInt32) throws(SupervisorError) {
        for (name, kind) in contents {
            try FileTrust.verifyIfPresent(directory + "/" + name, kind, uid: uid)
        }
        let logs = directory + "/logs"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] where name.hasSuffix(".log") {
            try FileTrust.verify(logs + "/" + name, .regularFile, uid: uid)
        }
    }

    /// Removes the socket files of ``controlEndpoint`` and ``defaultBackendEndpoint`` (libzmq leaves them
    /// behind), so that a command looking for this supervisor does not find a stale one. Call it once the
    /// sockets are closed, while the lock is still held.
    public func removeSockets() {
        for name in ["control", "backend"] {
            let socket = socketDirectory + "/" + name + ".ipc"
            if FileTrust(path: socket)?.is(.socket) == true { unlink(socket) }
        }
    }

    /// The default backend endpoint: an ipc socket in ``socketDirectory``.
    public var defaultBackendEndpoint: String { endpoint(named: "backend") }

    /// The control endpoint used by `status`, `reload` and `stop`.
    public var controlEndpoint: String { endpoint(named: "control") }

    /// Path of the history database.
    public var databasePath: String { path + "/baton.sqlite" }

    /// An ipc endpoint for a named socket (up to 10 bytes) in ``socketDirectory``.
    public func endpoint(named name: String) -> String {
        "ipc://" + socketDirectory + "/" + name + ".ipc"
    }

    /// The ipc endpoint of a named socket of the supervisor that uses `directory`, without taking the
    /// directory's lock: in the directory, or in the runtime directory its supervisor would use (see
    /// ``RuntimeDirectory/locate(_:stateDirectory:owner:environment:)``).
    public static func endpoint(named name: String, in directory: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let standardized = URL(fileURLWithPath: directory).standardizedFileURL.path
        let absolute = (try? FileTrust.resolvingParent(of: standardized)) ?? standardized
        if RuntimeDirectory.fitsInStateDirectory(absolute) { return "ipc://" + absolute + "/" + name + ".ipc" }
        let owner = FileTrust(path: absolute)?.owner ?? geteuid()
        return "ipc://" + RuntimeDirectory.locate(name, stateDirectory: absolute, owner: owner,
                                                  environment: environment) + "/" + name + ".ipc"
    }
}
