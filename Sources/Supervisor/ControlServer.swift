import Foundation
import Logging
import ZeroMQ

/// The supervisor's control socket: a ROUTER bound to `STATE_DIR/control.ipc` (mode 0600) that takes
/// ``ControlRequest``s from `baton status`, `stop` and `reload`, and sends ``ControlReply``s back.
///
/// Lives on the supervisor thread, like every socket it owns.
final class ControlServer {
    /// A peer's address on the ROUTER socket: `[routing id][""]`.
    typealias Peer = [[UInt8]]

    let endpoint: String
    private let context: Context
    private let socket: Socket
    private var frames: [[UInt8]] = []

    /// Binds the control endpoint; an ipc socket file is made accessible to its owner only.
    init(endpoint: String) throws {
        self.endpoint = endpoint
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

    /// Takes every request waiting, without blocking. A request that cannot be decoded is answered with
    /// ``ControlReply/refused(_:)`` here and not returned.
    func receive() throws -> [(peer: Peer, request: ControlRequest)] {
        var requests: [(Peer, ControlRequest)] = []
        while try socket.receive(into: &frames, dontWait: true) {
            guard frames.count == 3, frames[1].isEmpty else { continue }
            let peer = Array(frames[..<2])
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
