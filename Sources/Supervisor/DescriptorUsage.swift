import Broker
import CBatonSys
import Foundation

/// The supervisor's file descriptors: how many are open and the limit, for `status` and for the default
/// bound on clients.
public struct DescriptorUsage: Sendable, Codable, Equatable {
    /// Descriptors open now (entries of `/proc/self/fd`).
    public var open: Int
    /// The soft `RLIMIT_NOFILE`.
    public var limit: Int
    /// Connections closed as soon as they were accepted because no descriptor was left (see ``raiseLimit()``).
    public var droppedAtLimit: UInt64 = 0

    /// Creates a usage record.
    public init(open: Int, limit: Int, droppedAtLimit: UInt64 = 0) {
        self.open = open
        self.limit = limit
        self.droppedAtLimit = droppedAtLimit
    }

    /// This process's usage now.
    public static func current() -> DescriptorUsage {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        // Listing the directory holds one descriptor of its own while it counts.
        return DescriptorUsage(open: max(entries - 1, 0), limit: Int(clamping: baton_nofile_limit()),
                               droppedAtLimit: UInt64(baton_dropped_connections()))
    }

    /// Raises the soft descriptor limit to the hard limit (workers spawned later get the original back), and
    /// sets aside the reserve descriptor with which a listener that finds no descriptor left accepts the
    /// connection and closes it, instead of aborting or spinning inside libzmq (Sources/CBatonAccept/accept.c).
    /// Returns the limits before and after.
    @discardableResult
    public static func raiseLimit() -> (before: Int, after: Int) {
        _ = baton_reserve_descriptor()
        var before: UInt64 = 0
        var after: UInt64 = 0
        if baton_raise_nofile_limit(&before, &after) != 0 && after == 0 { after = baton_nofile_limit() }
        return (Int(clamping: before), Int(clamping: after))
    }

    /// Descriptors kept free of clients: 96 for the supervisor's own use (libzmq's threads and mailboxes, the
    /// database, the watchdog, control connections, a reload's replacement worker; about 40 are in use with
    /// no worker and no client), 4 per worker slot (its backend connection, pidfd, output pipe and log file),
    /// and the frontend's listen backlog (connections libzmq accepts in a burst before the ZAP handler can
    /// refuse the ones over the bound).
    public static func reserve(workers: Int) -> Int {
        96 + 4 * workers + Int(BrokerSecurity.defaultListenBacklog)
    }

    /// The default bound on frontend connections: what the limit leaves after the descriptors open now and
    /// the reserve; at least 1.
    public func defaultMaxClients(workers: Int) -> Int {
        max(limit - open - Self.reserve(workers: workers), 1)
    }
}
