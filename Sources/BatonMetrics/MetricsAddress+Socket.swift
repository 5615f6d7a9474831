import Glibc

extension MetricsAddress {
    /// Checks, before Baton starts serving, that the address can be listened on (so a port in use stops
    /// `serve` at start-up), and returns it with the real port when it asks for port 0.
    ///
    /// The check listens and closes at once; the HTTP server listens again when its service runs.
    public func reserve() throws(MetricsError) -> MetricsAddress {
        let fd = try listeningSocket(backlog: 1)
        defer { close(fd) }
        guard port == 0 else { return self }
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw MetricsError("cannot read the port bound for metrics on \(self)", errno: errno) }
        // sin_port and sin6_port sit at the same offset, right after the family.
        return MetricsAddress(host: host, isIPv6: isIPv6, port: UInt16(bigEndian: storage.sin6_port))
    }

    /// A listening TCP socket on this address (close-on-exec, `SO_REUSEADDR`), with the given backlog.
    func listeningSocket(backlog: Int32) throws(MetricsError) -> Int32 {
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsError("cannot open a socket for metrics", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd) == 0, listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw MetricsError("cannot listen for metrics on \(self): \(String(cString: strerror(code)))", errno: code)
        }
        return fd
    }

    private func bind(_ fd: Int32) -> Int32 {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return -1 }
            return Self.bind(fd, &address)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return -1 }
        return Self.bind(fd, &address)
    }

    private static func bind<Address>(_ fd: Int32, _ address: inout Address) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }
}
