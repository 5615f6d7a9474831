import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a state directory's ipc sockets live when its path is too long for a Unix socket address.
///
/// A socket path must fit in `sun_path` (107 bytes and a NUL). Sockets stay in the state directory when its
/// path is at most ``longestSocketDirectory`` bytes; otherwise they go to a short private directory named
/// after the state directory (a hash of its path), the first of these that can be used:
///
/// 1. `$XDG_RUNTIME_DIR/baton-HASH`, when `XDG_RUNTIME_DIR` is set, absolute, and a directory owned by the
///    running uid that nobody else may write to (otherwise it is skipped);
/// 2. `/run/baton-0/HASH` when running as root and `/run` exists;
/// 3. `/tmp/baton-UID/HASH`.
///
/// Each directory Baton creates there gets mode 0700, and each is checked like the state directory (see
/// ``FileTrust``): owned by the running uid, not writable by others, not a symbolic link, under directories
/// that only root or the running uid can change. One that exists but fails the check is a refusal, never a
/// reason to fall back to the abstract socket namespace, which has no permissions at all.
///
/// Commands that talk to a running supervisor (`status`, `reload`, `stop`) look in the same places, in the
/// same order, for the uid that owns the state directory (see ``locate(_:stateDirectory:owner:environment:)``).
public enum RuntimeDirectory {
    /// The longest directory path in which a socket named with up to 14 bytes (`control.ipc` and
    /// `backend.ipc` are 11) still fits in a Unix socket address.
    public static let longestSocketDirectory = 88

    /// The hash that names a state directory's runtime directory: FNV-1a (64 bits) of its absolute path, in hex.
    public static func key(for stateDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Whether sockets of `stateDirectory` (an absolute path) stay in it.
    public static func fitsInStateDirectory(_ stateDirectory: String) -> Bool {
        stateDirectory.utf8.count <= longestSocketDirectory
    }

    /// Creates (mode 0700) and checks the runtime directory of `stateDirectory` for a supervisor running as
    /// `uid`, and returns its path; throws ``SupervisorError`` (`.untrusted`) naming the reason when none can be
    /// used safely.
    public static func create(for stateDirectory: String, uid: UInt32 = geteuid(),
                              environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(SupervisorError) -> String
    {
        let key = key(for: stateDirectory)
        if let xdg = usableXDG(environment, uid: uid), (xdg + "/baton-" + key).utf8.count <= longestSocketDirectory {
            return try privateDirectory(base: xdg, name: "baton-" + key, uid: uid)
        }
        if uid == 0, FileTrust(path: "/run")?.is(.directory) == true {
            return try privateDirectory(base: "/run/baton-0", name: key, uid: uid)
        }
        return try privateDirectory(base: "/tmp/baton-\(uid)", name: key, uid: uid)
    }

    /// The runtime directory where a supervisor of `stateDirectory` running as `owner` has its socket `name`
    /// (`control`), for a command that connects to it: the first candidate place where that socket exists, or
    /// that this process may not look into (so that the connection reports the lack of permission); the first
    /// candidate when there is none. A candidate that is plainly not the owner's is never used.
    public static func locate(_ name: String, stateDirectory: String, owner: UInt32,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let key = key(for: stateDirectory)
        var candidates: [String] = []
        if let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") { candidates.append(xdg + "/baton-" + key) }
        candidates.append("/run/user/\(owner)/baton-\(key)")
        if owner == 0 { candidates.append("/run/baton-0/" + key) }
        candidates.append("/tmp/baton-\(owner)/" + key)
        for directory in candidates {
            let socket = directory + "/" + name + ".ipc"
            if FileTrust(path: socket) == nil {
                guard errno == EACCES else { continue }
                return directory
            }
            if let trust = FileTrust(path: directory), trust.problem(expected: .directory, runningAs: owner) != nil {
                continue
            }
            return directory
        }
        return candidates[0]
    }

    /// `XDG_RUNTIME_DIR` when it is set, absolute, and a directory that `uid` owns and nobody else may write.
    static func usableXDG(_ environment: [String: String], uid: UInt32) -> String? {
        guard let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/"), xdg.utf8.count > 1,
              let trust = FileTrust(path: xdg), trust.problem(expected: .directory, runningAs: uid) == nil,
              (try? FileTrust.verifyAncestors(of: xdg, uid: uid)) != nil
        else { return nil }
        return xdg.hasSuffix("/") ? String(xdg.dropLast()) : xdg
    }

    /// `base/name`, both created if missing (mode 0700) and checked, `base` first.
    static func privateDirectory(base: String, name: String, uid: UInt32) throws(SupervisorError) -> String {
        do throws(SupervisorError) {
            let trustedBase = try FileTrust.trustedDirectory(base, uid: uid)
            return try FileTrust.trustedDirectory(trustedBase + "/" + name, uid: uid)
        } catch {
            throw SupervisorError(error.code, "the state directory's path is too long for ipc sockets, and the "
                                  + "private runtime directory for them cannot be used: \(error)")
        }
    }
}
