import BatonProtocol
import Foundation
import Glibc
import Logging
import ServiceThread
import Synchronization

/// A small HTTP/1.1 server for three GET routes, on a thread of its own (`baton-metrics`), with every resource
/// a client can make it hold bounded and counted (``MetricsHTTPStats``): the connections in an
/// ``HTTPConnectionTable`` (at most 32; when it is full, a new connection takes the place of the one that has
/// waited longest for its head), a request head of at most ``HTTPRequestHead/maxBytes`` (else 431) that must
/// arrive within 2 s of the accept, an answer taken within 5 s, one request per connection
/// (`Connection: close`).
///
/// So that slow clients cannot keep a probe from its answer: the kernel hands over a connection once its
/// first bytes are in (`TCP_DEFER_ACCEPT`, at most about a second later), each new connection is read at
/// once (a probe's head is answered without waiting for a turn), and while the table is full the server
/// accepts every ``HTTPConnectionTable/fullAcceptInterval`` everything the kernel queued (a backlog of
/// ``listenBacklog``). Running out of descriptors evicts a connection, or pauses accepting for a moment; it
/// never stops the server. Nothing runs on Swift's concurrency pool but the route handler's snapshots.
final class MetricsHTTPServer: Sendable {
    /// The listen backlog (the kernel caps it at `net.core.somaxconn`).
    static let listenBacklog: Int32 = 4096

    private let listener: Int32
    /// The `baton-metrics` thread; its one command is the stop.
    private let thread = ServiceThread<Stop>(name: "baton-metrics")
    private let capacity: Int
    private let counters: MetricsHTTPCounters
    private let handler: @Sendable (String) -> HTTPResponse
    private let logger: Logger
    private let logLimiters = Mutex([LogEvent: RateLimiter]())

    private enum Stop { case stop }

    /// Listens on `address` (already checked by ``MetricsAddress/reserve()``); `handler` answers a GET path;
    /// what happens to connections is counted in `counters`, and bad or slow clients are logged (at most 5
    /// lines a minute of each kind).
    init(address: MetricsAddress, capacity: Int = HTTPConnectionTable.defaultCapacity,
         counters: MetricsHTTPCounters, logger: Logger,
         handler: @escaping @Sendable (String) -> HTTPResponse) throws(MetricsError) {
        let fd = try address.listeningSocket(backlog: Self.listenBacklog)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        // The kernel hands over a connection once its first bytes are in (or after about a second): a probe is
        // accepted with its head, and answered at once, while connections that send nothing wait outside.
        var deferSeconds: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, &deferSeconds, socklen_t(MemoryLayout<Int32>.size))
        listener = fd
        self.capacity = capacity
        self.counters = counters
        self.handler = handler
        self.logger = logger
        counters.update { $0.capacity = capacity }
    }

    /// Starts the server's thread.
    func start() throws(MetricsError) {
        do {
            try thread.start { [self] in
                serve()
                close(listener)
            }
        } catch {
            close(listener)
            throw MetricsError(error.description, errno: error.errno)
        }
    }

    /// Stops serving (open connections are closed) and waits for the thread to end.
    func stop() async {
        thread.send(.stop)
        await thread.waitUntilFinished()
    }

    /// One turn: wait for the sockets, move each ready connection on, close the expired ones, accept (while
    /// the table is full, at most every ``HTTPConnectionTable/fullAcceptInterval``).
    private func serve() {
        var table = HTTPConnectionTable(capacity: capacity)
        defer { for fd in table.connections.keys { close(fd) } }
        var pausedUntil: UInt64 = 0
        var lastAcceptTurn: UInt64 = 0
        var items: [pollfd] = []
        var order: [Int32] = []
        while true {
            let start = BatonClock.monotonic()
            let acceptAt = max(pausedUntil, table.earliestAccept(lastTurn: lastAcceptTurn))
            let accepting = start >= acceptAt
            items.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            items.append(pollfd(fd: thread.wakeDescriptor, events: Int16(POLLIN), revents: 0))
            if accepting { items.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            for (fd, connection) in table.connections {
                order.append(fd)
                items.append(pollfd(fd: fd, events: Int16(connection.isReadingHead ? POLLIN : POLLOUT), revents: 0))
            }
            let timeout = accepting ? 250 : Int32(min(250, (acceptAt - start) / 1_000_000 + 1))
            _ = poll(&items, nfds_t(items.count), timeout)
            if items[0].revents != 0, !thread.takeCommands().isEmpty { return }
            let now = BatonClock.monotonic()
            let first = accepting ? 2 : 1
            for (offset, fd) in order.enumerated() where items[first + offset].revents != 0 {
                advance(fd, in: &table, now: now)
            }
            let expired = table.removeExpired(now: now)
            for fd in expired { close(fd) }
            if !expired.isEmpty {
                log(.timedOut, "closed metrics connections past their deadline (head 2 s, answer 5 s)",
                    ["connections": "\(expired.count)"])
            }
            if accepting && items[1].revents != 0 {
                pausedUntil = acceptQueued(into: &table, now: now)
                lastAcceptTurn = now
            }
            let open = table.connections.count
            counters.update {
                $0.timedOut += UInt64(expired.count)
                $0.open = open
            }
        }
    }

    /// Accepts what the kernel queued (up to a backlog's worth), reading each at once (a probe's head is
    /// usually there already, and is answered without taking a place) and evicting to make room; returns
    /// until when to pause accepting (out of descriptors with nothing to evict), or 0.
    private func acceptQueued(into table: inout HTTPConnectionTable, now: UInt64) -> UInt64 {
        for _ in 0..<Self.listenBacklog {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    guard evict(from: &table) else { return now &+ 100_000_000 }
                    continue
                default: return 0
                }
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if table.isFull { evict(from: &table) }
            table.admit(fd, now: now)
            advance(fd, in: &table, now: now)
        }
        return 0
    }

    /// Closes the connection ``HTTPConnectionTable/evictionVictim()`` names; false when the table is empty.
    @discardableResult
    private func evict(from table: inout HTTPConnectionTable) -> Bool {
        guard let victim = table.evictionVictim() else { return false }
        table.remove(victim)
        close(victim)
        counters.update { $0.evicted += 1 }
        log(.evicted, "metrics connections full: closed the one waiting longest for its request head",
            ["capacity": "\(table.capacity)"])
        return true
    }

    /// What became of a connection after it was moved on.
    private enum Progress {
        case waiting, answered, refused, clientClosed
    }

    /// Reads the head or writes the answer, as far as the socket allows; closes the connection once done.
    private func advance(_ fd: Int32, in table: inout HTTPConnectionTable, now: UInt64) {
        guard var connection = table[fd] else { return }
        let progress = step(fd, &connection, now: now)
        guard progress != .waiting else {
            table[fd] = connection
            return
        }
        table.remove(fd)
        close(fd)
        counters.update {
            switch progress {
            case .answered: $0.answered += 1
            case .refused: $0.refused += 1
            case .clientClosed: $0.clientClosed += 1
            case .waiting: break
            }
        }
    }

    private func step(_ fd: Int32, _ connection: inout HTTPConnectionTable.Connection, now: UInt64) -> Progress {
        while connection.isReadingHead {
            let count = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer in
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count > 0 { connection.head += buffer[..<count] }
                return count
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { return .waiting }
            if count <= 0 { return .clientClosed }
            switch HTTPRequestHead.parse(connection.head) {
            case .incomplete:
                continue
            case .complete(let head, _):
                let response = head.method == "GET" ? handler(String(head.path))
                    : .text("GET only\n", status: 405)
                connection.answer(with: response, now: now)
            case .malformed(let reason):
                log(.refused, "refused a malformed metrics request", ["status": "400", "reason": "\(reason)"])
                connection.answer(with: .text("bad request: \(reason)\n", status: 400), now: now)
            case .tooLarge:
                log(.refused, "refused a metrics request head over \(HTTPRequestHead.maxBytes) bytes",
                    ["status": "431"])
                connection.answer(with: .text("request head larger than \(HTTPRequestHead.maxBytes) bytes\n",
                                              status: 431), now: now)
            }
        }
        while connection.sent < connection.output.count {
            let count = connection.output[connection.sent...].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { return .waiting }
            if count < 0 { return .clientClosed }
            connection.sent += count
        }
        return connection.status == 400 || connection.status == 431 ? .refused : .answered
    }

    /// What a slow or bad client made the server do, each logged at most 5 times a minute.
    private enum LogEvent {
        case evicted, timedOut, refused
    }

    /// Logs a bad or slow client, at most 5 lines of each ``LogEvent`` a minute, with a count of what was held
    /// back.
    private func log(_ event: LogEvent, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        let (allowed, suppressed) = logLimiters.withLock {
            $0[event, default: RateLimiter(burst: 5, window: .seconds(60))].allow(now: Instant.now())
        }
        if suppressed > 0 { logger.warning("\(suppressed) similar metrics connection messages were not logged") }
        if allowed { logger.warning(message, metadata: metadata) }
    }
}
