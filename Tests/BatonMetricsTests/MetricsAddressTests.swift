import Glibc
import Testing

@testable import BatonMetrics

@Suite("The --metrics address", .serialized)
struct MetricsAddressTests {
    @Test("IPv4, bracketed IPv6 and localhost parse; the port can be 0")
    func parses() throws {
        #expect(try MetricsAddress(parsing: "127.0.0.1:9750").description == "127.0.0.1:9750")
        #expect(try MetricsAddress(parsing: "0.0.0.0:0").port == 0)
        #expect(try MetricsAddress(parsing: "[::1]:9750").url == "http://[::1]:9750")
        #expect(try MetricsAddress(parsing: "localhost:9750").host == "127.0.0.1")
    }

    @Test("""
        a port alone, a missing port, a port out of range, a host name, a missing host or a bad address is \
        refused, naming the input and the expected form
        """)
    func refusesMalformed() {
        for text in ["9750", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:0x10",
                     "example.com:9750", ":9750", "::1:9750", "[]:9750", "[::1:9750", "[127.0.0.1]:9750",
                     "[example.com]:9750", "256.0.0.1:9750", "1.2.3:9750", "tcp://1.2.3.4:5", "[fe80::1%lo]:9750", ""] {
            do {
                let address = try MetricsAddress(parsing: text)
                Issue.record("accepted \(text) as \(address)")
            } catch {
                #expect(error.description.contains("HOST:PORT"), "\(text)")
                #expect(error.description.contains("'\(text)'"), "\(text)")
            }
        }
    }

    @Test("the forms Baton listens on: IPv4 HOST:PORT, localhost, the wildcard, bracketed IPv6 and its wildcard")
    func forms() throws {
        let cases: [(String, String, Bool, UInt16)] = [
            ("10.1.2.3:80", "10.1.2.3", false, 80), ("localhost:0", "127.0.0.1", false, 0),
            ("0.0.0.0:65535", "0.0.0.0", false, 65535), ("[::1]:9750", "::1", true, 9750),
            ("[::]:1", "::", true, 1), ("[::ffff:127.0.0.1]:2", "::ffff:127.0.0.1", true, 2),
        ]
        for (text, host, isIPv6, port) in cases {
            let address = try MetricsAddress(parsing: text)
            #expect(address == MetricsAddress(host: host, isIPv6: isIPv6, port: port), "\(text)")
        }
    }

    @Test("an IPv6 loopback address with port 0 is reserved on a free port, then refused while another socket holds it")
    func reserveIPv6() throws {
        let reserved = try MetricsAddress(parsing: "[::1]:0").reserve()
        #expect(reserved.port != 0 && reserved.isIPv6)
        let holder = try reserved.listeningSocket(backlog: 1)
        defer { close(holder) }
        #expect(throws: MetricsError.self) { try reserved.reserve() }
        do {
            _ = try reserved.reserve()
        } catch {
            #expect(error.errno == EADDRINUSE)
            #expect(error.description == "cannot listen for metrics on [::1]:\(reserved.port): Address already in use")
        }
    }

    @Test("reserving port 0 picks a free port, which can then be reserved again")
    func reservePicksAPort() throws {
        let reserved = try MetricsAddress(parsing: "127.0.0.1:0").reserve()
        #expect(reserved.port != 0)
        #expect(try reserved.reserve() == reserved)
    }

    @Test("a port another socket listens on is refused at once, naming the address")
    func reserveRefusesAPortInUse() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(listener, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        do {
            _ = try MetricsAddress(parsing: "127.0.0.1:\(port)").reserve()
            Issue.record("reserved a port in use")
        } catch {
            #expect(error.description.contains("127.0.0.1:\(port)"))
            #expect(error.errno == EADDRINUSE)
        }
    }
}
