import BatonProtocol
import Broker
import Foundation
import Logging
import ZeroMQ

/// Who may send commands on the control socket: only processes running as the supervisor's own uid, and root.
///
/// The control socket is a file in a directory only that uid can enter, so this is defence in depth: it still
/// holds if the socket's permissions are loosened, or the socket is reached some other way. The peer's uid
/// comes from the kernel (`SO_PEERCRED`, which libzmq appends to the peer address, see ``PeerCredentials``); a
/// peer without credentials is refused. Each refusal is counted and logged, at most 20 lines per 10 seconds.
struct ControlPeerPolicy {
    /// The supervisor's effective uid.
    let ownerUID: UInt32
    /// Control requests refused so far.
    private(set) var refused = 0
    private var logLimiter = RateLimiter(burst: 20, window: .seconds(10))

    /// A policy for a supervisor running as `ownerUID`.
    init(ownerUID: UInt32 = geteuid()) {
        self.ownerUID = ownerUID
    }

    /// Whether a peer with these credentials may send commands to a supervisor running as `ownerUID`.
    static func allows(_ credentials: PeerCredentials?, ownerUID: UInt32) -> Bool {
        guard let credentials else { return false }
        return credentials.uid == ownerUID || credentials.uid == 0
    }

    /// Why the peer at `peerAddress` may not send commands, for the reply, or nil when it may. A refusal is
    /// counted and logged (rate-limited).
    mutating func refusal(peerAddress: String?, logger: Logger, now: Instant = .now()) -> String? {
        let credentials = peerAddress.flatMap(PeerCredentials.init(peerAddress:))
        if Self.allows(credentials, ownerUID: ownerUID) { return nil }
        refused += 1
        let peer = credentials.map { "\($0)" } ?? "a peer without credentials (\(peerAddress ?? "no address"))"
        let (allowed, suppressed) = logLimiter.allow(now: now)
        if allowed {
            var metadata: Logger.Metadata = ["peer": "\(peer)", "refused_total": "\(refused)"]
            if suppressed > 0 { metadata["not_logged"] = "\(suppressed)" }
            logger.warning("control request refused: only the supervisor's uid and root may send commands",
                           metadata: metadata)
        }
        return "permission denied: \(credentials.map { "uid \($0.uid)" } ?? "this peer") may not control a "
            + "supervisor running as uid \(ownerUID) (only that uid and root may)"
    }
}
