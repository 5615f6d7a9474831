import CBatonSys

#if canImport(Glibc)
import Glibc
#endif

/// An eventfd that other threads signal to wake the broker's poll.
final class Wakeup: Sendable {
    let fd: Int32

    init() throws(BrokerError) {
        let fd = baton_eventfd()
        guard fd >= 0 else { throw BrokerError(.system, "eventfd", errno: errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Wakes the poller (safe from any thread).
    func signal() { _ = baton_eventfd_signal(fd) }

    /// Clears pending wake-ups (on the polling thread).
    func drain() { _ = baton_eventfd_drain(fd) }
}
