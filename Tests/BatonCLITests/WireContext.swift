import ZeroMQ

/// A ZeroMQ context and the peers connected through it; ``close()`` closes every peer, then the context.
final class WireContext {
    let context: Context
    private var peers: [WirePeer] = []

    init() throws {
        context = try Context()
    }

    /// A new peer, closed with the others.
    func connect(_ type: SocketType, _ endpoint: String, curve: CurveClientCredentials? = nil,
                 receiveHighWaterMark: Int32? = nil) throws -> WirePeer {
        let peer = try WirePeer(context, type, endpoint, curve: curve, receiveHighWaterMark: receiveHighWaterMark)
        peers.append(peer)
        return peer
    }

    func close() {
        for peer in peers { peer.close() }
        peers = []
        context.terminate()
    }
}
