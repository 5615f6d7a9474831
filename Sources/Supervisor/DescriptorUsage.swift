import CBatonSys
import Foundation

/// The supervisor's file descriptors: how many are open and the limit, for `status` and for the default
/// bound on clients.
public struct DescriptorUsage: Sendable, Codable, Equatable {
    /// Descriptors open now (entries of `/proc/self/fd`).
    public var open: Int
    /// The soft `RLIMIT_NOFILE`.
    public var limit: Int

    /// Creates a usage record.
    public init(open: Int, limit: Int) {
        self.open = open
        self.limit = limit
    }

    /// This process's usage now.
    public static func current() -> DescriptorUsage {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        // Listing the directory holds one descriptor of its own while it counts.
        return DescriptorUsage(open: max(entries - 1, 0), limit: Int(clamping: baton_nofile_limit()))
    }

    /// Raises the soft descriptor limit to the hard limit (workers spawned later get the original back).
    /// Returns the limits before and after.
    @discardableResult
    public static func raiseLimit() -> (before: Int, after: Int) {
        var before: UInt64 = 0
        var after: UInt64 = 0
        if baton_raise_nofile_limit(&before, &after) != 0 && after == 0 { after = baton_nofile_limit() }
        return (Int(clamping: before), Int(clamping: after))
    }

    /// Descriptors kept free of clients: 64 for the supervisor's own use (control connections, the database,
    /// libzmq's threads and mailboxes), plus 4 per worker slot (its backend connection, its pidfd, its log
    /// file, and a surge replacement during a reload).
    public static func reserve(workers: Int) -> Int {
        64 + 4 * workers
    }

    /// The default bound on frontend connections: what the limit leaves after the descriptors open now and
    /// the reserve; at least 1.
    public func defaultMaxClients(workers: Int) -> Int {
        max(limit - open - Self.reserve(workers: workers), 1)
    }
}
