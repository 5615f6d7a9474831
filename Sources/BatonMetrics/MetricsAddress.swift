import FlyingSocks
import Foundation

/// Where `serve --metrics HOST:PORT` listens: an IPv4 address, `[IPv6]`, or `localhost`, and a port
/// (0 picks a free one, see ``reserve()``).
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// The numeric host: `127.0.0.1`, `0.0.0.0`, `::1`, ….
    public let host: String
    /// Whether ``host`` is an IPv6 address.
    public let isIPv6: Bool
    /// The TCP port; 0 until ``reserve()`` picks one.
    public let port: UInt16

    /// Parses `HOST:PORT`.
    public init(parsing text: String) throws(MetricsError) {
        let usage = "--metrics takes HOST:PORT (127.0.0.1:9750, [::1]:9750, 0.0.0.0:9750), not '\(text)'"
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw MetricsError(usage)
        }
        var host = String(text[..<colon])
        var isIPv6 = false
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            isIPv6 = true
        } else if host == "localhost" {
            host = "127.0.0.1"
        }
        self.init(host: host, isIPv6: isIPv6, port: port)
        guard !host.isEmpty, (try? socketAddress()) != nil else { throw MetricsError(usage) }
    }

    init(host: String, isIPv6: Bool, port: UInt16) {
        self.host = host
        self.isIPv6 = isIPv6
        self.port = port
    }

    /// `HOST:PORT`, with brackets around an IPv6 host.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The base URL, `http://HOST:PORT`.
    public var url: String { "http://\(description)" }

    /// The address as a socket address.
    func socketAddress() throws -> any SocketAddress {
        isIPv6 ? try sockaddr_in6.inet6(ip6: host, port: port) : try sockaddr_in.inet(ip4: host, port: port)
    }

    /// Checks, before Baton starts serving, that the address can be listened on (so a port in use stops
    /// `serve` at start-up), and returns it with the real port when it asks for port 0.
    ///
    /// The check listens and closes at once; the HTTP server listens again when its service runs.
    public func reserve() throws(MetricsError) -> MetricsAddress {
        do {
            let socket = try Socket(domain: isIPv6 ? AF_INET6 : AF_INET)
            defer { try? socket.close() }
            try socket.setValue(true, for: .localAddressReuse)
            try socket.bind(to: socketAddress())
            try socket.listen()
            guard port == 0 else { return self }
            switch try socket.sockname() {
            case .ip4(_, let bound), .ip6(_, let bound): return MetricsAddress(host: host, isIPv6: isIPv6, port: bound)
            case .unix: throw MetricsError("metrics endpoint \(self): not an IP address")
            }
        } catch let error as MetricsError {
            throw error
        } catch SocketError.failed(_, let errno, let message) {
            throw MetricsError("cannot listen for metrics on \(self): \(message)", errno: errno)
        } catch {
            throw MetricsError("cannot listen for metrics on \(self): \(error)")
        }
    }
}
