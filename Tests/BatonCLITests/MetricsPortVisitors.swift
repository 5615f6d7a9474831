import Foundation
import Testing

/// Clients of the metrics port whose connections end each way but answered: one that closes before its head
/// is whole (client-closed), one whose head is not HTTP (refused, 400), and one more than the server holds
/// that send a head that never ends: the oldest is evicted to make room for the last (evicted), and the others
/// are closed at the head's 2 s deadline (timed-out). Their sockets stay open until ``close()``, so that the
/// server holds its connections while they last (`baton_metrics_http_connections_open`). Used from one thread.
final class MetricsPortVisitors {
    /// The connections whose head never ends.
    private var held: [Int32] = []

    /// Opens them all on 127.0.0.1:port against a server that holds `capacity` connections; returns once the
    /// malformed head was answered and the others sent their first bytes.
    init(port: UInt16, capacity: Int = 32) throws {
        let leaving = try #require(HTTPProbe.connected(port: port), "cannot connect to the metrics port")
        let start = Array("GET /met".utf8)
        #expect(send(leaving, start, start.count, Int32(MSG_NOSIGNAL)) == start.count)
        Glibc.close(leaving)

        let malformed = try #require(HTTPProbe.connected(port: port), "cannot connect to the metrics port")
        defer { Glibc.close(malformed) }
        let refused = HTTPProbe.exchange(malformed, Array("NOT HTTP\r\n\r\n".utf8))
        #expect(refused?.status == 400, "a head that is not HTTP is answered 400: \(String(describing: refused))")

        let endless = Array("GET /metrics HTTP/1.1\r\nX-Never-Ends: ".utf8)
        for _ in 0...capacity {
            let fd = try #require(HTTPProbe.connected(port: port), "cannot connect to the metrics port")
            held.append(fd)
            #expect(send(fd, endless, endless.count, Int32(MSG_NOSIGNAL)) == endless.count)
        }
    }

    deinit { close() }

    /// Closes the connections still held.
    func close() {
        for fd in held { Glibc.close(fd) }
        held = []
    }
}
