import Foundation
import Testing

/// A minimal HTTP/1.1 client over a blocking loopback socket, for the metrics endpoint and Prometheus' API.
enum HTTPProbe {
    /// `GET path` on 127.0.0.1:port with `Connection: close`; nil if it cannot connect, or nothing answers
    /// within `seconds` (each of connect, send and every receive).
    static func get(port: UInt16, _ path: String, seconds: Double = 5) -> (status: Int, body: String)? {
        guard let fd = connected(port: port, seconds: seconds) else { return nil }
        defer { close(fd) }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
        return exchange(fd, Array(request.utf8))
    }

    /// A blocking TCP connection to 127.0.0.1:port whose sends and receives time out after `seconds`; nil if
    /// it cannot connect. The caller closes it.
    static func connected(port: UInt16, seconds: Double = 5) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(seconds.truncatingRemainder(dividingBy: 1) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends `request` (any bytes) on a connection and reads the answer until the server closes it; its status
    /// and body, or nil if the send failed or no HTTP answer came.
    static func exchange(_ fd: Int32, _ request: [UInt8]) -> (status: Int, body: String)? {
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, let headerEnd = text.range(of: "\r\n\r\n") else {
            return nil
        }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        return (status, String(text[headerEnd.upperBound...]))
    }

    /// `count` probes of `GET path`, one every 100 ms or so, each with a `seconds` timeout, as an orchestrator
    /// sends them; returns those that failed (no 200, or later than `seconds`) and the slowest answer's time.
    static func probe(port: UInt16, _ path: String, count: Int, seconds: Double = 1)
        -> (failures: [String], slowest: Double) {
        var failures: [String] = []
        var slowest = 0.0
        for index in 0..<count {
            let start = Date()
            let answer = get(port: port, path, seconds: seconds)
            let elapsed = Date().timeIntervalSince(start)
            slowest = max(slowest, elapsed)
            if answer?.status != 200 || elapsed > seconds {
                failures.append("probe \(index): \(answer.map { "\($0.status)" } ?? "no answer") after \(elapsed) s")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return (failures, slowest)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (for a program that cannot report the port it bound).
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = getsockname(fd, $0, &length)
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Polls `GET path` until `condition` holds on the answer, up to `seconds`; returns the last answer.
    @discardableResult
    static func waitFor(port: UInt16, _ path: String, _ what: String, seconds: Double = 15,
                        _ condition: ((status: Int, body: String)) -> Bool) -> (status: Int, body: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: (status: Int, body: String)?
        while Date() < deadline {
            last = get(port: port, path)
            if let last, condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting for \(what) on \(path); last answer: \(String(describing: last))")
        return last
    }
}

extension Child {
    /// The port of `serve --metrics 127.0.0.1:0`, from its "metrics listening" log line.
    func metricsPort(seconds: Double = 20) -> UInt16? {
        guard waitForOutput("metrics listening", seconds: seconds),
              let match = output.firstMatch(of: /url=http:\/\/127\.0\.0\.1:(\d+)\/metrics/)
        else { return nil }
        return UInt16(match.1)
    }
}

/// The value of one sample, `name{labels} value`, in a Prometheus text exposition.
func sample(_ exposition: String, _ series: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
