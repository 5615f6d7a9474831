import BatonProtocol
import Logging
import ZeroMQ

/// The connection guard and the ZAP handler thread that runs it, for the life of the broker thread.
struct BrokerGuard {
    let connections: ConnectionGuard
    let authenticator: ZAPAuthenticator

    /// Stops the ZAP handler (after the guarded sockets are closed, before the context is terminated).
    func stop() {
        authenticator.stop()
    }
}

/// Whether a reply reached a client's pipe.
enum ClientRoute {
    /// Queued for the client.
    case sent
    /// The client has disconnected.
    case gone
    /// The client's pipe holds ``BrokerSecurity/maxUnreadReplies`` replies it has not taken: the reply waits
    /// (``ReplyBacklog``).
    case full
}

extension BrokerLoop {
    /// Applies ``BrokerServer/Options/security`` to the two sockets before they bind: CURVE on tcp endpoints,
    /// ZAP domains, the frontend's high-water mark and handshake timeout, monitors; then starts the ZAP
    /// handler that runs the ``ConnectionGuard`` on its own thread.
    func secure(frontend: Socket, backend: Socket) throws -> BrokerGuard {
        let options = server.options
        let security = options.security
        try frontend.setSendHighWaterMark(max(security.maxUnreadReplies, 1))
        try frontend.setListenBacklog(security.listenBacklog)
        for socket in [frontend, backend] {
            try socket.setHandshakeInterval(milliseconds: Int32(clamping: security.handshakeTimeout.milliseconds))
        }
        if let keys = security.curveKeys {
            if BrokerSecurity.isTCP(options.frontend) { try frontend.useCurveServer(keys) }
            if BrokerSecurity.isTCP(options.backend) {
                try backend.useCurveServer(keys)
                try backend.setZAPDomain(ConnectionGuard.backendDomain)
            }
        }
        // Every frontend connection, NULL mechanism included, goes to the ZAP handler (for --max-clients).
        try frontend.setZAPDomain(ConnectionGuard.frontendDomain)
        // The frontend's monitor is read on the ZAP thread, where the client bound is decided. The backend's is
        // the broker thread's own (`openMonitor`), which passes these events on to the guard.
        try frontend.startMonitor(ConnectionGuard.frontendMonitor, events: ConnectionGuard.monitoredEvents)
        let connections = ConnectionGuard(security: security, logger: logger)
        let authenticator = ZAPAuthenticator(context: server.context, handler: connections.authorize)
        try authenticator.start(monitors: [(ConnectionGuard.frontendMonitor, connections.frontendEvent)])
        return BrokerGuard(connections: connections, authenticator: authenticator)
    }

    /// The core's counters with the connection guard's.
    var stats: BrokerStats {
        var stats = core.stats
        if let connections = guarded?.connections { stats.connections = connections.stats }
        stats.repliesWaiting = replies.count
        return stats
    }

    /// Sends a client's routing frame; tells apart a client that has gone from one that is not reading.
    static func routeToClient(_ frontend: Socket, _ id: [UInt8]) throws -> ClientRoute {
        do {
            return try frontend.send(frame: id, more: true, dontWait: true) ? .sent : .full
        } catch where error.isHostUnreachable {
            return .gone
        }
    }
}
