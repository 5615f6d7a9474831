import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("CURVE keys, Z85 and the ZAP handler over real libzmq", .serialized, .timeLimit(.minutes(1)))
struct CurveTests {
    @Test("Z85 encodes the RFC 32 test vector and decodes it back; malformed text is refused")
    func z85TestVector() {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.encode([1, 2, 3]) == nil)
        #expect(Z85.decode("Hello") != nil)
        #expect(Z85.decode("Hell") == nil)
        #expect(Z85.decode("Hell\"") == nil)
    }

    @Test("a generated key pair's public key is the one derived from its secret key")
    func keyPairDerivation() throws {
        #expect(CurveKeyPair.isAvailable)
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 32 && pair.secretKey.count == 32)
        #expect(pair.publicText.count == 40)
        #expect(CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(try CurveKeyPair.generate() != pair)
        #expect(CurveKeyPair(secretKey: [1, 2, 3]) == nil)
    }

    @Test("the ZAP handler admits an authorised CURVE client and refuses another; the monitor sees both")
    func curveWithZAP() throws {
        let context = try Context()
        defer { context.terminate() }
        let server = try CurveKeyPair.generate()
        let good = try CurveKeyPair.generate()
        let bad = try CurveKeyPair.generate()
        let seen = Mutex<[ZAPRequest]>([])
        let events = Mutex<[SocketEvent]>([])
        let authenticator = ZAPAuthenticator(context: context) { request in
            seen.withLock { $0.append(request) }
            return request.curvePublicKey == good.publicKey ? .allow(userID: "good") : .deny("not authorised")
        }
        let router = try Socket(context, .router)
        router.linger = 0
        try router.useCurveServer(server)
        try router.setZAPDomain("test")
        try router.startMonitor("inproc://curve-test-monitor", events: [.accepted, .disconnected, .handshakeFailedAuth])
        try authenticator.start(monitors: [("inproc://curve-test-monitor", { event in
            events.withLock { $0.append(event) }
        })])
        defer {
            router.close()
            authenticator.stop()
        }
        try router.bind("tcp://127.0.0.1:*")
        try router.setReceiveTimeout(milliseconds: 5_000)
        let endpoint = try router.lastEndpoint()

        let refused = try Socket(context, .dealer)
        defer { refused.close() }
        refused.linger = 0
        try refused.useCurveClient(try #require(CurveClientCredentials(serverKey: server.publicKey, keys: bad)))
        try refused.connect(endpoint)
        try refused.send(frame: Array("from bad".utf8))

        let admitted = try Socket(context, .dealer)
        defer { admitted.close() }
        admitted.linger = 0
        try admitted.useCurveClient(try #require(CurveClientCredentials(serverKey: server.publicKey, keys: good)))
        try admitted.connect(endpoint)
        try admitted.send(frame: Array("from good".utf8))

        let message = try #require(try router.receive())
        #expect(message.frames.last == Array("from good".utf8))
        #expect(try router.receive(dontWait: true) == nil)
        try waitUntil { events.withLock { $0.contains { $0.kind == .handshakeFailedAuth && $0.value == 400 } } }
        let requests = seen.withLock { $0 }
        #expect(requests.allSatisfy { $0.domain == "test" && $0.mechanism == "CURVE" && $0.address == "127.0.0.1" })
        #expect(Set(requests.compactMap(\.curvePublicKey)) == [good.publicKey, bad.publicKey])
        #expect(events.withLock { $0.filter { $0.kind == .accepted }.count } >= 2)
    }

    @Test("with a ZAP domain a NULL-mechanism connection is also put to the handler, and a refusal closes it")
    func nullMechanismGoesThroughZAP() throws {
        let context = try Context()
        defer { context.terminate() }
        let asked = Atomic<Int>(0)
        let authenticator = ZAPAuthenticator(context: context) { request in
            asked.add(1, ordering: .relaxed)
            return request.mechanism == "NULL" ? .deny("full") : .allow(userID: "")
        }
        try authenticator.start()
        defer { authenticator.stop() }
        let router = try Socket(context, .router)
        defer { router.close() }
        router.linger = 0
        try router.setZAPDomain("frontend")
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, .dealer)
        defer { dealer.close() }
        dealer.linger = 0
        try dealer.connect(try router.lastEndpoint())
        try dealer.send(frame: [1])
        try waitUntil { asked.load(ordering: .relaxed) >= 1 }
        try router.setReceiveTimeout(milliseconds: 200)
        #expect(try router.receive() == nil)
    }

    @Test("a second authenticator on the same context cannot bind the ZAP endpoint")
    func oneHandlerPerContext() throws {
        let context = try Context()
        defer { context.terminate() }
        let first = ZAPAuthenticator(context: context) { _ in .allow(userID: "") }
        try first.start()
        defer { first.stop() }
        let second = ZAPAuthenticator(context: context) { _ in .allow(userID: "") }
        #expect(throws: ZMQError.self) { try second.start() }
    }

    private func waitUntil(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else {
                Issue.record("timed out")
                return
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }
}
