import Foundation
import Synchronization

/// An append-only log file that rotates by size: past ``maxBytes`` it becomes `NAME.1` (the older ones move
/// up to `NAME.KEEP`, the oldest is deleted) and a new `NAME` starts. Safe from any thread.
///
/// Opened without following symbolic links, created 0600, and refused unless owned by this process's user.
public final class RotatingLogFile: Sendable {
    /// Rotation settings.
    public struct Policy: Sendable, Equatable {
        /// Size in bytes past which the file is rotated (0: never).
        public var maxBytes: Int64
        /// Rotated files kept (`NAME.1` … `NAME.KEEP`).
        public var keep: Int

        /// Creates a policy.
        public init(maxBytes: Int64 = 64 << 20, keep: Int = 5) {
            self.maxBytes = maxBytes
            self.keep = keep
        }
    }

    /// The file's path.
    public let path: String
    /// The rotation settings.
    public let policy: Policy
    private let state: Mutex<(fd: Int32, size: Int64)>

    /// Opens (creating) the file for appending; nil if it cannot be opened safely.
    public init?(path: String, policy: Policy) {
        guard let opened = Self.open(path) else { return nil }
        self.path = path
        self.policy = policy
        state = Mutex(opened)
    }

    deinit {
        state.withLock { _ = close($0.fd) }
    }

    /// Appends bytes. Past the bound the file is rotated at a line boundary, so no file exceeds ``Policy/maxBytes``
    /// (a single line longer than that is cut across files).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        state.withLock { state in
            var rest = bytes[...]
            while !rest.isEmpty {
                guard policy.maxBytes > 0 else {
                    append(UnsafeRawBufferPointer(rebasing: rest), to: &state)
                    return
                }
                let space = Int(max(policy.maxBytes - state.size, 0))
                if rest.count <= space {
                    append(UnsafeRawBufferPointer(rebasing: rest), to: &state)
                    return
                }
                let fits = rest.prefix(space)
                if let newline = fits.lastIndex(of: UInt8(ascii: "\n")) {
                    let head = rest[..<rest.index(after: newline)]
                    append(UnsafeRawBufferPointer(rebasing: head), to: &state)
                    rest = rest[head.endIndex...]
                } else if state.size == 0 {
                    append(UnsafeRawBufferPointer(rebasing: fits), to: &state)
                    rest = rest[fits.endIndex...]
                }
                rotate(&state)
            }
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer, to state: inout (fd: Int32, size: Int64)) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(state.fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }  // a full disk: the bytes are lost, serving goes on
            offset += written
        }
        state.size += Int64(offset)
    }

    /// Appends a string.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    private func rotate(_ state: inout (fd: Int32, size: Int64)) {
        _ = close(state.fd)
        if policy.keep > 0 {
            _ = unlink("\(path).\(policy.keep)")
            for index in stride(from: policy.keep - 1, through: 1, by: -1) {
                _ = rename("\(path).\(index)", "\(path).\(index + 1)")
            }
            _ = rename(path, "\(path).1")
        } else {
            _ = unlink(path)
        }
        state = Self.open(path) ?? (fd: Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC), size: 0)
    }

    private static func open(_ path: String) -> (fd: Int32, size: Int64)? {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_uid == geteuid(), info.st_mode & S_IFMT == S_IFREG else {
            _ = close(fd)
            return nil
        }
        return (fd, Int64(info.st_size))
    }
}
