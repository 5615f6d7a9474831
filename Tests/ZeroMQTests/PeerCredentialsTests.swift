import Foundation
import Testing
import ZeroMQ

@Suite("A peer's credentials from its Peer-Address", .serialized, .timeLimit(.minutes(1)))
struct PeerCredentialsTests {
    @Test("the last three fields of an ipc peer address are uid, gid and pid")
    func parsesCredentials() {
        #expect(PeerCredentials(peerAddress: "localhost:1000:100:4242")
            == PeerCredentials(uid: 1000, gid: 100, pid: 4242))
        #expect(PeerCredentials(peerAddress: ":0:0:1") == PeerCredentials(uid: 0, gid: 0, pid: 1))
        // Whatever comes before may contain colons itself.
        #expect(PeerCredentials(peerAddress: "::1:65534:65534:7")?.uid == 65534)
        #expect(PeerCredentials(peerAddress: "localhost:4294967295:0:2")?.uid == UInt32.max)
    }

    @Test("an address without credentials, or with anything but plain decimal numbers, gives none")
    func refusesMalformed() {
        for address in ["", "127.0.0.1", "localhost:1000:100", "localhost:-1:0:2", "localhost:+1:0:2",
                        "localhost: 1:0:2", "localhost:1:0:", "localhost:1:0:x", "localhost:4294967296:0:2",
                        "localhost:0:0:2147483648", "localhost:00000000000:0:1", "1:2:3"] {
            #expect(PeerCredentials(peerAddress: address) == nil, "\(address)")
        }
    }

    @Test("a message received over ipc carries the sender's uid, gid and pid, polled or not; over tcp, an address only")
    func receivesPeerAddress() throws {
        var template = Array("/tmp/pc-XXXXXX".utf8CString)
        let directory = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            .map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (endpoint, polled) in [("ipc://\(directory)/a.ipc", false), ("ipc://\(directory)/b.ipc", true),
                                   ("tcp://127.0.0.1:*", true)] {
            try withSocketPair(bind: endpoint) { router, dealer in
                try dealer.send(frames: [[], Array("status".utf8)])
                try router.setReceiveTimeout(milliseconds: 5_000)
                if polled {
                    // Polling makes a ROUTER prefetch the message, and its routing-id frame then lacks the property.
                    var poller = Poller()
                    let item = poller.add(router)
                    try poller.poll(timeoutMilliseconds: 5_000)
                    #expect(poller.isReady(item))
                }
                var frames: [[UInt8]] = []
                var peerAddress: String?
                #expect(try router.receive(into: &frames, peerAddress: &peerAddress))
                #expect(frames.count == 3 && frames[2] == Array("status".utf8))
                let address = try #require(peerAddress, "\(endpoint)")
                if endpoint.hasPrefix("ipc") {
                    #expect(PeerCredentials(peerAddress: address)
                        == PeerCredentials(uid: geteuid(), gid: getegid(), pid: getpid()), "\(address)")
                } else {
                    #expect(address == "127.0.0.1")
                    #expect(PeerCredentials(peerAddress: address) == nil)
                }
            }
        }
    }
}
