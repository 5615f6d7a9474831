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
public final class StateDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String
    private let lockFD: Int32

    /// Creates the directory if needed (mode 0700) and takes its lock.
    ///
    /// Throws ``SupervisorError`` with code `.stateDirectoryLocked` if another live process holds it.
    public init(path: String) throws(SupervisorError) {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        self.path = absolute
        do {
            try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SupervisorError(.stateDirectory, "cannot create state directory \(absolute): \(error)")
        }
        let lockPath = absolute + "/supervisor.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SupervisorError(.stateDirectory, "cannot open \(lockPath)", errno: errno)
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &buffer, buffer.count)
            close(fd)
            let owner = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if code == EWOULDBLOCK {
                throw SupervisorError(.stateDirectoryLocked,
                                      "another supervisor (pid \(owner.isEmpty ? "?" : owner)) is using \(absolute)")
            }
            throw SupervisorError(.stateDirectory, "cannot lock \(lockPath)", errno: code)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        lockFD = fd
    }

    deinit { close(lockFD) }

    /// The default backend endpoint: an ipc socket in this directory, or an abstract socket named after it
    /// when the path is too long for a Unix socket address (107 bytes).
    public var defaultBackendEndpoint: String { endpoint(named: "backend") }

    /// The control endpoint used by `status`, `reload` and `stop`.
    public var controlEndpoint: String { endpoint(named: "control") }

    /// Path of the history database.
    public var databasePath: String { path + "/baton.sqlite" }

    /// An ipc endpoint for a named socket in this directory.
    public func endpoint(named name: String) -> String {
        Self.endpoint(named: name, in: path)
    }

    /// An ipc endpoint for a named socket in `directory`, without taking the directory's lock.
    public static func endpoint(named name: String, in directory: String) -> String {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        let file = absolute + "/" + name + ".ipc"
        if file.utf8.count <= 100 { return "ipc://" + file }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in absolute.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "ipc://@baton-\(String(hash, radix: 16))-\(name)"
    }
}
