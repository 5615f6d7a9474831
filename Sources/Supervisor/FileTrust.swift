import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Whether a file or directory may be trusted by a process running as a given uid, in the spirit of
/// OpenSSH's `StrictModes`: Baton acts on what it finds in its state directory (it kills the pids listed in
/// `workers.pids`, runs reloads sent over its control socket), so it uses nothing another user could have
/// written or replaced.
///
/// - A file or directory Baton uses must be owned by the running uid, must not be writable by its group or
///   by others, and must be of the expected type: a symbolic link is never followed where a file or a
///   directory is expected.
/// - Every directory above it must be owned by root or by the running uid, and must not be writable by
///   group or others unless its sticky bit is set (as on `/tmp`, where only an entry's owner may rename or
///   remove it). Otherwise another user could move the directory away and put one of their own in its place.
public struct FileTrust: Sendable, Equatable {
    /// What a path is expected to be.
    public enum Kind: Sendable, Equatable {
        /// A directory (never a symbolic link to one).
        case directory
        /// A regular file (never a symbolic link to one).
        case regularFile
        /// A Unix socket (an ipc endpoint); its mode is not checked, since Baton replaces it when it binds.
        case socket

        var noun: String {
            switch self {
            case .directory: "a directory"
            case .regularFile: "a regular file"
            case .socket: "a socket"
            }
        }
    }

    /// The file's type bits and permission bits (`st_mode`).
    public var mode: UInt32
    /// The file's owner (`st_uid`).
    public var owner: UInt32

    /// Creates a description from `st_mode` and `st_uid`.
    public init(mode: UInt32, owner: UInt32) {
        self.mode = mode
        self.owner = owner
    }

    /// Describes a path without following a final symbolic link (`lstat`); nil with `errno` set when it fails.
    public init?(path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        self.init(mode: info.st_mode, owner: info.st_uid)
    }

    /// Describes an open file (`fstat`); nil with `errno` set when it fails.
    public init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(mode: info.st_mode, owner: info.st_uid)
    }

    /// The permission bits, e.g. `0o700`.
    public var permissions: UInt32 { mode & 0o7777 }

    var isSymbolicLink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }

    /// Whether this is a `kind` (a symbolic link is none of them).
    public func `is`(_ kind: Kind) -> Bool {
        let type = mode & UInt32(S_IFMT)
        switch kind {
        case .directory: return type == UInt32(S_IFDIR)
        case .regularFile: return type == UInt32(S_IFREG)
        case .socket: return type == UInt32(S_IFSOCK)
        }
    }

    /// Why a process running as `uid` must not use this as a `kind` it will act on, or nil if it may.
    public func problem(expected kind: Kind, runningAs uid: UInt32) -> String? {
        if isSymbolicLink { return "is a symbolic link, not \(kind.noun)" }
        if !self.is(kind) { return "is not \(kind.noun)" }
        if owner != uid { return "is owned by uid \(owner), not by the running uid \(uid)" }
        if kind != .socket && permissions & 0o022 != 0 {
            return "is writable by group or others (mode \(Self.octal(permissions)))"
        }
        return nil
    }

    /// Why a process running as `uid` must not trust a directory below this one, or nil if it may.
    public func ancestorProblem(runningAs uid: UInt32) -> String? {
        if !self.is(.directory) { return "is not a directory" }
        if owner != 0 && owner != uid { return "is owned by uid \(owner), neither root nor the running uid \(uid)" }
        if permissions & 0o022 != 0 && permissions & UInt32(S_ISVTX) == 0 {
            return "is writable by group or others without the sticky bit (mode \(Self.octal(permissions)))"
        }
        return nil
    }

    static func octal(_ permissions: UInt32) -> String {
        let digits = String(permissions, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    // MARK: Checks on paths

    /// Throws unless `path` exists and is a trusted `kind` (see ``problem(expected:runningAs:)``).
    public static func verify(_ path: String, _ kind: Kind, uid: UInt32 = geteuid()) throws(SupervisorError) {
        guard let trust = FileTrust(path: path) else {
            throw SupervisorError(.untrusted, "cannot check \(path)", errno: errno)
        }
        try trust.require(kind, uid: uid, path: path)
    }

    /// Like ``verify(_:_:uid:)``, but a path that does not exist passes.
    public static func verifyIfPresent(_ path: String, _ kind: Kind, uid: UInt32 = geteuid()) throws(SupervisorError) {
        guard let trust = FileTrust(path: path) else {
            if errno == ENOENT { return }
            throw SupervisorError(.untrusted, "cannot check \(path)", errno: errno)
        }
        try trust.require(kind, uid: uid, path: path)
    }

    /// Throws naming `path` and the reason when ``problem(expected:runningAs:)`` finds one.
    public func require(_ kind: Kind, uid: UInt32, path: String) throws(SupervisorError) {
        if let problem = problem(expected: kind, runningAs: uid) {
            throw SupervisorError(.untrusted, "refusing \(path): it \(problem)")
        }
    }

    /// Throws unless every directory above the absolute, symlink-free `path` may be trusted (see
    /// ``ancestorProblem(runningAs:)``).
    public static func verifyAncestors(of path: String, uid: UInt32 = geteuid()) throws(SupervisorError) {
        var ancestor = (path as NSString).deletingLastPathComponent
        while true {
            guard let trust = FileTrust(path: ancestor) else {
                throw SupervisorError(.untrusted, "cannot check \(ancestor)", errno: errno)
            }
            if let problem = trust.ancestorProblem(runningAs: uid) {
                throw SupervisorError(.untrusted, "refusing \(path): the directory above it, \(ancestor), \(problem)")
            }
            if ancestor == "/" { return }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
    }

    /// Creates every missing directory of the absolute `path` with mode 0700 (existing ones are left as they
    /// are: the checks that follow decide whether they may be used).
    public static func createDirectories(_ path: String) throws(SupervisorError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw SupervisorError(.stateDirectory, "cannot create directory \(prefix)", errno: errno)
            }
        }
    }

    /// The absolute `path` with the symbolic links above its last component resolved (the last component
    /// itself is kept, so that a link there is seen and refused, not followed).
    public static func resolvingParent(of path: String) throws(SupervisorError) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        guard path != "/", let resolved = realpath(parent, nil) else {
            if path == "/" { return path }
            throw SupervisorError(.stateDirectory, "cannot resolve \(parent)", errno: errno)
        }
        defer { free(resolved) }
        let directory = String(cString: resolved)
        return directory == "/" ? "/" + name : directory + "/" + name
    }

    /// Creates `path` (and missing directories above it) with mode 0700 if needed, then checks it and every
    /// directory above it; returns the path with symbolic links above it resolved.
    public static func trustedDirectory(_ path: String, uid: UInt32 = geteuid()) throws(SupervisorError) -> String {
        try createDirectories(path)
        let resolved = try resolvingParent(of: path)
        try verifyAncestors(of: resolved, uid: uid)
        try verify(resolved, .directory, uid: uid)
        return resolved
    }
}
