import BatonProtocol
import Foundation
import Logging
import Synchronization
import ZeroMQ

/// The broker's admission policy, run by its ZAP handler: per-domain authorised CURVE keys and the bound on
/// frontend connections, which it counts from the frontend socket's monitor.
///
/// Everything it decides is counted (``ConnectionStats``) and logged, at most 20 lines per 10 s.
final class ConnectionGuard: Sendable {
    /// ZAP domain of the frontend socket.
    static let frontendDomain = "baton-frontend"
    /// ZAP domain of the backend socket.
    static let backendDomain = "baton-backend"
    /// Monitor endpoint of the frontend socket.
    static let frontendMonitor = "inproc://baton-monitor-frontend"
    /// Events the guard counts (the backend's come through the broker thread's monitor of that socket).
    static let monitoredEvents: SocketEvent.Kind = [.accepted, .acceptFailed, .disconnected, .handshakeFailedProtocol,
                                                .handshakeFailedNoDetail]

    private let security: BrokerSecurity
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var stats = ConnectionStats()
        var limiter = RateLimiter(burst: 20, window: .seconds(10))
    }

    init(security: BrokerSecurity, logger: Logger) {
        self.security = security
        self.logger = logger
        var initial = State()
        initial.stats.maxClients = security.maxClients
        state = Mutex(initial)
    }

    /// The counters now.
    var stats: ConnectionStats { state.withLock { $0.stats } }

    /// Decides one connection attempt (called by the ZAP handler's thread).
    func authorize(_ request: ZAPRequest) -> ZAPVerdict {
        switch request.domain {
        case Self.frontendDomain:
            if let limit = security.maxClients, state.withLock({ $0.stats.clients }) > limit {
                refuse(request, "too many clients (at most \(limit))", \.clientsOverLimit)
                return .deny("too many clients")
            }
            if request.mechanism == "CURVE", let allowed = security.authorizedClients,
               !allowed.contains(request.curvePublicKey ?? []) {
                refuse(request, "client key not authorised", \.unauthorizedClients)
                return .deny("key not authorised")
            }
            return .allow(userID: request.curvePublicKey.flatMap(Z85.encode) ?? "")
        case Self.backendDomain:
            if request.mechanism == "CURVE", !security.authorizedWorkers.contains(request.curvePublicKey ?? []) {
                refuse(request, "worker key not authorised", \.unauthorizedWorkers)
                return .deny("key not authorised")
            }
            return .allow(userID: request.curvePublicKey.flatMap(Z85.encode) ?? "")
        default:
            refuse(request, "unknown ZAP domain", \.failedHandshakes)
            return .deny("unknown domain")
        }
    }

    /// Counts a frontend monitor event (called by the ZAP handler's thread, before pending ZAP requests).
    func frontendEvent(_ event: SocketEvent) {
        observe(event, connections: \.clients, side: "frontend")
    }

    /// Counts a backend monitor event (called by the broker thread, which owns the backend's monitor).
    func backendEvent(_ event: SocketEvent) {
        observe(event, connections: \.workerConnections, side: "backend")
    }

    private func observe(_ event: SocketEvent, connections: WritableKeyPath<ConnectionStats, Int>, side: String) {
        switch event.kind {
        case .accepted:
            state.withLock { $0.stats[keyPath: connections] += 1 }
        case .disconnected:
            state.withLock { $0.stats[keyPath: connections] = max($0.stats[keyPath: connections] - 1, 0) }
        case .acceptFailed:
            // EAGAIN here is Baton's accept wrapper closing a connection it had no descriptor for (accept.c).
            let code = event.value
            let text = code == EAGAIN
                ? "no descriptor left, the connection was closed" : String(cString: strerror(code))
            note(\.acceptFailures, "\(side) could not accept a connection: \(text)", ["endpoint": "\(event.endpoint)"])
        case .handshakeFailedProtocol, .handshakeFailedNoDetail:
            note(\.failedHandshakes, "\(side) handshake failed (a peer without the right CURVE keys, or silent)",
                 ["endpoint": "\(event.endpoint)"])
        default:
            break
        }
    }

    private func refuse(_ request: ZAPRequest, _ reason: String, _ counter: WritableKeyPath<ConnectionStats, UInt64>) {
        note(counter, "refused a connection: \(reason)", ["peer": "\(request.address)"])
    }

    private func note(_ counter: WritableKeyPath<ConnectionStats, UInt64>, _ message: String,
                      _ metadata: Logger.Metadata) {
        let (allowed, suppressed) = state.withLock { state in
            state.stats[keyPath: counter] += 1
            return state.limiter.allow(now: Instant.now())
        }
        if suppressed > 0 { logger.warning("\(suppressed) similar connection messages were not logged") }
        if allowed { logger.warning("\(message)", metadata: metadata) }
    }
}
