import BatonProtocol
import Testing

@testable import Broker

@Suite("Frontend messages read into typed messages before the broker's policy")
struct ClientMessageTests {
    private func read(_ frames: [[UInt8]]) -> String {
        switch ClientMessage(frames) {
        case .malformed(let count):
            "malformed \(count)"
        case .request(_, let delimiter, .none):
            "request at \(delimiter)"
        case .request(_, let delimiter, .key(let key)):
            "session \(text(key)) at \(delimiter)"
        case .request(_, let delimiter, .invalid):
            "bad session at \(delimiter)"
        }
    }

    @Test("a message without a routing id, a delimiter or a body after it is malformed, with its frame count")
    func malformedMessages() {
        #expect(read([]) == "malformed 0")
        #expect(read([[], bytes("body")]) == "malformed 2")
        #expect(read([bytes("c"), bytes("no delimiter")]) == "malformed 2")
        #expect(read([bytes("c"), []]) == "malformed 2")
    }

    @Test("a request's delimiter is found after its whole envelope")
    func requestsFindTheirDelimiter() {
        #expect(read([bytes("c"), [], bytes("body")]) == "request at 1")
        #expect(read([bytes("proxy"), bytes("c"), [], bytes("a"), bytes("b")]) == "request at 2")
        #expect(read([bytes("c"), [], bytes("BATON-SESSIONS"), bytes("k"), bytes("b")]) == "request at 1")
    }

    @Test("a session marker gives the key, or an invalid session when the key is empty, too long or has no body")
    func sessionMarkers() {
        let marker = WireProtocol.sessionMarker
        let longest = [UInt8](repeating: 65, count: WireProtocol.maxSessionKeyBytes)
        #expect(read([bytes("c"), [], marker, bytes("room"), bytes("b")]) == "session room at 1")
        #expect(read([bytes("c"), [], marker, longest, bytes("b")])
                == "session \(String(repeating: "A", count: longest.count)) at 1")
        #expect(read([bytes("c"), [], marker, longest + [65], bytes("b")]) == "bad session at 1")
        #expect(read([bytes("c"), [], marker, [], bytes("b")]) == "bad session at 1")
        #expect(read([bytes("c"), [], marker, bytes("room")]) == "bad session at 1")
    }
}
