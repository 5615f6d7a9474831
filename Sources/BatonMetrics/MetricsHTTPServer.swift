import Foundation
import Synchronization

/// A small HTTP/1.1 server for three GET routes, on a thread of its own, with every resource a client can make
/// it hold bounded: at most ``maxConnections`` connections (more wait in the kernel's backlog), a request head
/// of at most ``maxHeadBytes`` (else 431), ``requestDeadline`` seconds to send it (else the connection is
/// closed), one request per connection (`Connection: close`). Running out of descriptors pauses accepting for
/// a moment; it never stops the server. Nothing runs on Swift's concurrency pool but the route handler.
final class MetricsHTTPServer: Sendable {
    /// A response: status code, content type, body.
    struct Response: Sendable {
        var status: Int
        var contentType: String
        var body: String
    }

    static let maxConnections = 32
    static let maxHeadBytes = 8 << 10
    static let requestDeadline: Double = 5

    private let listener: Int32
    private let wake: (read: Int32, write: Int32)
    private let handler: @Sendable (String) -> Response
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on `address` (already checked by ``MetricsAddress/reserve()``); `handler` answers a GET path.
    init(address: MetricsAddress, handler: @escaping @Sendable (String) -> Response) throws(MetricsError) {
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsError("cannot open a socket for metrics", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Self.bind(fd, address) == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw MetricsError("cannot listen for metrics on \(address)", errno: code)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            close(fd)
            throw MetricsError("cannot open the metrics server's wake-up pipe", errno: errno)
        }
        for end in fds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        listener = fd
        wake = (fds[0], fds[1])
        self.handler = handler
    }

    /// Starts the server's thread.
    func start() {
        let thread = Thread { [self] in
            serve()
            close(listener)
            close(wake.read)
            close(wake.write)
            finished.signal()
        }
        thread.name = "baton-metrics"
        thread.start()
    }

    /// Stops serving (open connections are closed) and waits for the thread to end.
    func stop() async {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                finished.wait()
                finished.signal()
                continuation.resume()
            }
        }
    }

    private struct Connection {
        var head: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        let deadline: Date
    }

    private func serve() {
        var connections: [Int32: Connection] = [:]
        var pausedUntil = Date.distantPast
        while true {
            var items = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let accepting = connections.count < Self.maxConnections && Date() >= pausedUntil
            if accepting { items.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            let order = Array(connections.keys)
            for fd in order {
                let writing = !(connections[fd]?.output.isEmpty ?? true)
                items.append(pollfd(fd: fd, events: Int16(writing ? POLLOUT : POLLIN), revents: 0))
            }
            _ = poll(&items, nfds_t(items.count), 250)
            if items[0].revents != 0 { return }
            var index = 1
            if accepting {
                if items[1].revents != 0 { pausedUntil = acceptAll(into: &connections) }
                index = 2
            }
            for fd in order {
                let ready = items[index].revents != 0
                index += 1
                guard var connection = connections[fd] else { continue }
                if ready && !step(fd, &connection) || Date() > connection.deadline {
                    close(fd)
                    connections[fd] = nil
                } else {
                    connections[fd] = connection
                }
            }
        }
    }

    /// Accepts what waits, up to the bound; returns until when to pause (out of descriptors) or the past.
    private func acceptAll(into connections: inout [Int32: Connection]) -> Date {
        while connections.count < Self.maxConnections {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    return Date().addingTimeInterval(0.1)
                }
                return .distantPast
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            connections[fd] = Connection(deadline: Date().addingTimeInterval(Self.requestDeadline))
        }
        return .distantPast
    }

    /// Reads or writes what the connection is ready for; false when it is done or broken.
    private func step(_ fd: Int32, _ connection: inout Connection) -> Bool {
        if !connection.output.isEmpty {
            let count = connection.output[connection.sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 { return errno == EAGAIN || errno == EINTR }
            connection.sent += count
            return connection.sent < connection.output.count
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EAGAIN || errno == EINTR }
        if count == 0 { return false }
        connection.head += buffer[..<count]
        if let end = Self.headEnd(connection.head) {
            connection.output = Self.encode(answer(Array(connection.head[..<end])))
        } else if connection.head.count > Self.maxHeadBytes {
            connection.output = Self.encode(Response(status: 431, contentType: "text/plain",
                                                     body: "request head larger than \(Self.maxHeadBytes) bytes\n"))
        }
        return true
    }

    private func answer(_ head: [UInt8]) -> Response {
        let requestLine = head.split(separator: UInt8(ascii: "\r"), maxSplits: 1).first.map { Array($0) } ?? []
        let parts = String(decoding: requestLine, as: UTF8.self).split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            return Response(status: 400, contentType: "text/plain", body: "bad request\n")
        }
        guard parts[0] == "GET" else { return Response(status: 405, contentType: "text/plain", body: "GET only\n") }
        let path = String(parts[1].split(separator: "?", maxSplits: 1).first ?? "")
        return handler(path)
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    private static func encode(_ response: Response) -> [UInt8] {
        let reasons = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                       431: "Request Header Fields Too Large", 503: "Service Unavailable"]
        let body = Array(response.body.utf8)
        let head = "HTTP/1.1 \(response.status) \(reasons[response.status] ?? "Status")\r\n"
            + "Content-Type: \(response.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    private static func bind(_ fd: Int32, _ address: MetricsAddress) -> Int32 {
        if address.isIPv6 {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, address.host, &socketAddress.sin6_addr) == 1 else { return -1 }
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = address.port.bigEndian
        guard inet_pton(AF_INET, address.host, &socketAddress.sin_addr) == 1 else { return -1 }
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
