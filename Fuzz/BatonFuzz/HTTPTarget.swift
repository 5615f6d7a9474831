import Foundation
import Logging
@testable import BatonMetrics

/// Request heads, checked twice: by the pure parser (``HTTPRequestHead/parse(_:limit:)``: a verdict, once
/// given, never changes as more bytes arrive), and sent to the metrics HTTP server over a real loopback
/// connection (the answer is a well-formed response whose status is the parser's verdict, with a body of its
/// Content-Length, and none before the parser decided; only GETs reach the routes, with a path free of spaces
/// and query).
enum HTTPTarget {
    nonisolated(unsafe) static var port: UInt16 = 0
    nonisolated(unsafe) static var server: MetricsHTTPServer?

    static func start() {
        signal(SIGPIPE, SIG_IGN)
        do {
            let address = try MetricsAddress(parsing: "127.0.0.1:0").reserve()
            var logger = Logger(label: "baton-fuzz")
            logger.logLevel = .critical
            let server = try MetricsHTTPServer(address: address, counters: MetricsHTTPCounters(),
                                               logger: logger) { path in
                if path.contains(" ") || path.contains("?") { fuzzFailure("the route got path \(path)") }
                return path == "/metrics" ? .text("ok\n", status: 200) : .text("not found\n", status: 404)
            }
            try server.start()
            Self.server = server
            port = address.port
        } catch {
            fuzzFailure("cannot start the metrics server: \(error)")
        }
    }

    static func run(_ bytes: [UInt8]) {
        let verdict = checkParser(bytes)
        // A reset (the server closed with input unread) can lose the answer: nothing to check then.
        guard let response = exchange(bytes) else { return }
        if response.isEmpty {
            // Bytes after the head are left unread when the server closes, so its close is a reset that may
            // discard the answer: only a head with nothing after it must be answered.
            if case .complete(_, let length) = verdict, length == bytes.count {
                fuzzFailure("no answer to a complete head of \(bytes.count) bytes")
            }
            return
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"), text.hasPrefix("HTTP/1.1 "),
              let status = Int(text.dropFirst(9).prefix(3))
        else { fuzzFailure("malformed response \(text.prefix(200).debugDescription)") }
        // The server answers what the parser decided, and nothing before it decided.
        let expected: Set<Int> = switch verdict {
        case .incomplete: []
        case .malformed: [400]
        case .tooLarge: [431]
        case .complete: [200, 404, 405]
        }
        if !expected.contains(status) { fuzzFailure("status \(status) for a head parsed as \(verdict)") }
        let length = text[..<split.lowerBound].split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
            .flatMap { Int($0.dropFirst(16)) }
        if length != text[split.upperBound...].utf8.count { fuzzFailure("Content-Length does not match the body") }
    }

    /// The parser's verdict on a prefix, once it is not `incomplete`, is its verdict on the whole input; a
    /// complete head's length lies within the input. Eight cut points, spread over the input.
    @discardableResult
    static func checkParser(_ bytes: [UInt8]) -> HTTPRequestHead.Parsed {
        let whole = HTTPRequestHead.parse(bytes)
        if case .complete(_, let length) = whole, length <= 0 || length > bytes.count {
            fuzzFailure("a complete head of length \(length) in \(bytes.count) bytes")
        }
        for step in 1...8 {
            let cut = bytes.count * step / 8
            let verdict = HTTPRequestHead.parse(Array(bytes[..<cut]))
            if verdict != .incomplete && verdict != whole {
                fuzzFailure("the verdict on \(cut) of \(bytes.count) bytes, \(verdict), became \(whole)")
            }
        }
        return whole
    }

    /// Connects, sends the bytes, half-closes, reads the answer to its end; nil if the connection was reset.
    static func exchange(_ bytes: [UInt8]) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { fuzzFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { fuzzFailure("connect: errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server answered (431, or a head that ended early) and closed; its reset may have
            // discarded the answer before it could be read.
            if count <= 0 { return nil }
            sent += count
        }
        shutdown(fd, Int32(SHUT_WR))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EAGAIN { fuzzFailure("no answer and no close within 10 s") }
            if count < 0 && errno == ECONNRESET { return nil }
            if count <= 0 { break }
            response += buffer[..<count]
        }
        return response
    }
}
