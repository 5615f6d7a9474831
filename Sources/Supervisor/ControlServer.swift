import Foundation
import Logging
import ZeroMQ

/// The supervisor's control socket: a ROUTER bound to `STATE_DIR/control.ipc` (mode 0600) that takes
/// ``ControlRequest``s from `baton status`, `stop` and `reload`, and sends ``ControlReply``s back.
///
/// Only the supervisor's uid and root may send requests (``ControlPeerPolicy``); anyone else gets
/// ``ControlReply/denied(_:)``.
///
/// Lives on the supervisor thread, like every socket it owns.
final class ControlServer {
    /// A peer's address on the ROUTER socket: `[routing id][""]`.
    typealias Peer = [[UInt8]]

    let endpoint: String
    private let context: Context
    private let socket: Socket
    private let logger: Logger
    private var frames: [[UInt8]] = []
    private var peerAddress: String?
    private var peerPolicy = ControlPeerPolicy()

    /// Requests refused so far because the peer was neither the supervisor's uid nor root.
    var refusedPeers: Int { peerPolicy.refused }

    /// Binds the control endpoint; an ipc socket file is made accessible to its owner only.
    init(endpoint: String, logger: Logger) throws {
        self.endpoint = endpoint
        self.logger = logger
        context = try Context()
        do {
            socket = try Socket(context, .router)
            socket.linger = 0
            try socket.bind(endpoint)
        } catch {
            context.terminate()
            throw error
        }
        if endpoint.hasPrefix("ipc://") { _ = chmod(String(endpoint.dropFirst("ipc://".count)), 0o600) }
    }

    /// Closes the socket and its context.
    func close() {
        socket.close()
        context.terminate()
    }

    /// Adds the socket to a poller; returns its index.
    func register(in poller: inout Poller) -> Int {
        poller.add(socket)
    }

    /// Takes every request waiting, without blocking. A request from a peer that may not send any is answered
    /// with ``ControlReply/denied(_:)``, and one that cannot be decoded with ``ControlReply/refused(_:)``,
    /// here; neither is returned.
    func receive() throws -> [(peer: Peer, request: ControlRequest)] {
        var requests: [(Peer, ControlRequest)] = []
        while try socket.receive(into: &frames, peerAddress: &peerAddress, dontWait: true) {
            let denial = peerPolicy.refusal(peerAddress: peerAddress, logger: logger)
            guard frames.count == 3, frames[1].isEmpty else { continue }
            let peer = Array(frames[..<2])
            if let denial {
                send(.denied(denial), to: peer)
                continue
            }
            guard let request = ControlCodec.decode(ControlRequest.self, from: frames[2]) else {
                send(.refused("malformed control request"), to: peer)
                continue
            }
            requests.append((peer, request))
        }
        return requests
    }

    /// Sends a reply to a peer; a peer that has gone is ignored.
    func send(_ reply: ControlReply, to peer: Peer) {
        _ = try? socket.send(frames: peer + [ControlCodec.encode(reply)], dontWait: true)
    }
}
