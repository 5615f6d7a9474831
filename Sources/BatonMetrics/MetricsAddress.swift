import Glibc

/// Where `serve --metrics HOST:PORT` listens: an IPv4 address, `[IPv6]`, or `localhost`, and a port
/// (0 picks a free port, see ``reserve()``).
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// The numeric host: `127.0.0.1`, `0.0.0.0`, `::1`, ….
    public let host: String
    /// Whether ``host`` is an IPv6 address.
    public let isIPv6: Bool
    /// The TCP port; 0 until ``reserve()`` picks one.
    public let port: UInt16

    /// Parses `HOST:PORT`: a numeric IPv4 address, `localhost` (127.0.0.1) or a bracketed numeric IPv6
    /// address, then a decimal port (host names are refused: Baton listens where it is told, without DNS).
    public init(parsing text: String) throws(MetricsError) {
        let usage = "--metrics takes HOST:PORT (127.0.0.1:9750, [::1]:9750, 0.0.0.0:9750), not '\(text)'"
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw MetricsError(usage)
        }
        var host = String(text[..<colon])
        var isIPv6 = false
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 1 {
            host = String(host.dropFirst().dropLast())
            isIPv6 = true
        } else if host == "localhost" {
            host = "127.0.0.1"
        }
        guard Self.isNumeric(host, ipv6: isIPv6) else { throw MetricsError(usage) }
        self.init(host: host, isIPv6: isIPv6, port: port)
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

    /// Whether `host` is a numeric address of the family (what `inet_pton` accepts).
    private static func isNumeric(_ host: String, ipv6: Bool) -> Bool {
        var storage = in6_addr()
        return !host.isEmpty && inet_pton(ipv6 ? AF_INET6 : AF_INET, host, &storage) == 1
    }
}
