import BatonProtocol
import Broker
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
    /// Requests refused so far because they could not be read: malformed, another protocol version, or an
    /// unknown command.
    private(set) var unreadableRequests = 0
    private var unreadableLogLimiter = RateLimiter(burst: 20, window: .seconds(10))
    /// The most requests one ``receive()`` takes: a peer that keeps the socket full cannot hold the supervisor
    /// thread from its workers, signals and other commands; the rest wait for the next turn of its loop.
    static let requestsPerTurn = 64
    /// The largest control frame in bytes; a peer that sends a larger one is disconnected by ZeroMQ, unread.
    static let maxFrameBytes: Int64 = 1 << 20

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
            try socket.setMaxMessageSize(Self.maxFrameBytes)
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

    /// Takes the requests waiting, at most ``requestsPerTurn``, without blocking. A request from a peer that may
    /// not send any is answered with ``ControlReply/denied(_:)``, and one that cannot be read (not two frames,
    /// malformed, another protocol version, an unknown command) with ``ControlReply/refused(_:)`` saying why, counted in ``unreadableRequests`` and
    /// logged (at most 20 lines per 10 seconds), here; neither is returned.
    func receive() throws -> [(peer: Peer, request: ControlRequest)] {
        var requests: [(Peer, ControlRequest)] = []
        var taken = 0
        while taken < Self.requestsPerTurn,
              try socket.receive(into: &frames, peerAddress: &peerAddress, dontWait: true) {
            taken += 1
            let denial = peerPolicy.refusal(peerAddress: peerAddress, logger: logger)
            let peer: Peer = [frames[0], []]
            if let denial {
                send(.denied(denial), to: peer)
                continue
            }
            guard frames.count == 3, frames[1].isEmpty else {
                let error = ControlMessageError.frames(frames.count - 1)
                unreadable(error)
                send(.refused(error.description), to: peer)
                continue
            }
            switch ControlCodec.read(ControlRequest.self, from: frames[2]) {
            case .success(let request):
                requests.append((peer, request))
            case .failure(let error):
                unreadable(error)
                send(.refused(error.description), to: peer)
            }
        }
        return requests
    }

    /// Counts and logs (rate-limited) a request that could not be read.
    private func unreadable(_ error: ControlMessageError) {
        unreadableRequests += 1
        let (allowed, suppressed) = unreadableLogLimiter.allow(now: Instant.now())
        guard allowed else { return }
        var metadata: Logger.Metadata = ["reason": "\(error)", "refused_total": "\(unreadableRequests)"]
        if suppressed > 0 { metadata["not_logged"] = "\(suppressed)" }
        logger.warning("control request refused: unreadable", metadata: metadata)
    }

    /// Sends a reply to a peer; a peer that has gone is ignored.
    func send(_ reply: ControlReply, to peer: Peer) {
        _ = try? socket.send(frames: peer + [ControlCodec.encode(reply)], dontWait: true)
    }
}
