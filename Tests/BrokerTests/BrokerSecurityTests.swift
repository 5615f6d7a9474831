import Broker
import Foundation
import Testing
import ZeroMQ

@Suite("The broker's CURVE, connection and unread-reply bounds over real sockets", .serialized,
       .timeLimit(.minutes(2)))
struct BrokerSecurityTests {
    @Test("with CURVE on tcp only an authorised worker key registers, and an authorised client is served")
    func curveAdmitsOnlyAuthorisedWorkers() throws {
        let server = try CurveKeyPair.generate()
        let goodWorker = try CurveKeyPair.generate()
        let rogueWorker = try CurveKeyPair.generate()
        let client = try CurveKeyPair.generate()
        let broker = try LiveBroker { options in
            options.security.curveKeys = server
            options.security.authorizedWorkers = [goodWorker.publicKey]
            options.security.authorizedClients = [client.publicKey]
        }
        let context = broker.context
        let rogue = try curveSocket(context, .req, server: server, keys: rogueWorker)
        let plain = try Socket(context, .req)
        let good = try curveSocket(context, .req, server: server, keys: goodWorker)
        let user = try curveSocket(context, .dealer, server: server, keys: client)
        defer { broker.close(rogue, plain, good, user) }
        plain.linger = 0
        for worker in [rogue, plain, good] {
            try worker.setRoutingID(Array("\(ObjectIdentifier(worker).hashValue)".utf8))
            try worker.connect(broker.endpoints.backend)
            try worker.send(frame: Array("READY".utf8))
        }
        try broker.waitUntil("the good worker registered and both others were refused") {
            let stats = try broker.server.statsBlocking()
            return stats.workers == 1 && stats.connections.unauthorizedWorkers >= 1
                && stats.connections.failedHandshakes >= 1
        }
        try user.connect(broker.endpoints.frontend)
        try user.send(frames: frames("", "hello"))
        let request = try #require(try good.receive())
        try good.send(frames: Array(request.frames.prefix(2)) + [Array("served".utf8)])
        #expect(texts(try user.receive()) == ["", "served"])
        try rogue.setReceiveTimeout(milliseconds: 50)
        #expect(try rogue.receive() == nil)
        #expect(try broker.server.statsBlocking().workers == 1)
    }

    @Test("an unauthorised CURVE client and a plain client get no reply, and both refusals are counted")
    func curveRefusesClients() throws {
        let server = try CurveKeyPair.generate()
        let broker = try LiveBroker { options in
            options.security.curveKeys = server
            options.security.authorizedClients = []
        }
        let stranger = try curveSocket(broker.context, .dealer, server: server, keys: try CurveKeyPair.generate())
        let plain = try broker.client()
        defer { broker.close(stranger, plain) }
        try stranger.setReceiveTimeout(milliseconds: 100)
        try stranger.connect(broker.endpoints.frontend)
        try stranger.send(frames: frames("", "let me in"))
        try plain.send(frames: frames("", "me too"))
        try broker.waitUntil("both refusals were counted") {
            let connections = try broker.server.statsBlocking().connections
            return connections.unauthorizedClients >= 1 && connections.failedHandshakes >= 1
        }
        #expect(try stranger.receive() == nil)
        #expect(try broker.server.statsBlocking().requestsReceived == 0)
    }

    @Test("clients beyond max-clients are refused, counted, and the admitted ones are served")
    func maxClientsBound() throws {
        let broker = try LiveBroker { $0.security.maxClients = 2 }
        try broker.addWorker("W")
        let first = try broker.client()
        let second = try broker.client()
        defer { broker.close(first, second) }
        for client in [first, second] {
            try client.send(frames: frames("", "in"))
            #expect(texts(try client.receive()) == ["", "W:in"])
        }
        #expect(try broker.server.statsBlocking().connections.clients == 2)
        let third = try broker.client()
        defer { broker.close(third) }
        try third.setReceiveTimeout(milliseconds: 200)
        try third.send(frames: frames("", "over"))
        try broker.waitUntil("the third client was refused") {
            try broker.server.statsBlocking().connections.clientsOverLimit >= 1
        }
        #expect(try third.receive() == nil)
        first.close()
        try broker.waitUntil("the first client's connection is counted as closed") {
            try broker.server.statsBlocking().connections.clients <= 1
        }
        let fourth = try broker.client()
        defer { broker.close(fourth) }
        try fourth.send(frames: frames("", "room again"))
        #expect(texts(try fourth.receive()) == ["", "W:room again"])
    }

    private func curveSocket(_ context: Context, _ type: SocketType, server: CurveKeyPair, keys: CurveKeyPair) throws
        -> Socket
    {
        let socket = try Socket(context, type)
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 5_000)
        try socket.useCurveClient(try #require(CurveClientCredentials(serverKey: server.publicKey, keys: keys)))
        return socket
    }
}
