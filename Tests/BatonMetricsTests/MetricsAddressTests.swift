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

    @Test("a missing port, a port out of range, a host name or a missing host is refused with the expected form")
    func refusesMalformed() {
        for text in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "example.com:9750", ":9750", "::1:9750",
                     "tcp://1.2.3.4:5"] {
            do {
                _ = try MetricsAddress(parsing: text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains("HOST:PORT"), "\(text)")
            }
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
