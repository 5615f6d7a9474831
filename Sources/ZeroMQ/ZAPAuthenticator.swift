import CZeroMQ
import Foundation
import ServiceThread

/// One connection attempt put to the ZAP handler (ZAP 1.0, RFC 27).
public struct ZAPRequest: Sendable, Equatable {
    /// The ZAP domain of the socket the peer connects to (``Socket/setZAPDomain(_:)``).
    public let domain: String
    /// The peer's address: an IP address for tcp; for ipc libzmq appends `:uid:gid:pid` of the peer.
    public let address: String
    /// The peer's routing id, if it set one.
    public let routingID: [UInt8]
    /// `NULL`, `PLAIN` or `CURVE`.
    public let mechanism: String
    /// The mechanism's credentials: for CURVE, the client's 32-byte public key.
    public let credentials: [[UInt8]]

    /// Creates a request.
    public init(domain: String, address: String, routingID: [UInt8], mechanism: String, credentials: [[UInt8]]) {
        self.domain = domain
        self.address = address
        self.routingID = routingID
        self.mechanism = mechanism
        self.credentials = credentials
    }

    /// The client's CURVE public key, if it used CURVE.
    public var curvePublicKey: [UInt8]? {
        guard mechanism == "CURVE", credentials.count == 1, credentials[0].count == 32 else { return nil }
        return credentials[0]
    }
}

/// A ZAP handler's answer to one request.
public enum ZAPVerdict: Sendable, Equatable {
    /// Status 200: the connection goes ahead; `userID` becomes its `User-Id` property.
    case allow(userID: String)
    /// Status 400: the connection is closed; the text is sent back to the peer in the ZAP reply.
    case deny(String)
}

/// A ZAP handler (ZAP 1.0, RFC 27) on its own small thread: a REP socket bound to `inproc://zeromq.zap.01` on
/// a context, which libzmq asks about every connection attempt to that context's sockets that have a ZAP
/// domain (``Socket/setZAPDomain(_:)``) or are CURVE servers.
///
/// The same thread also reads socket monitors (``Socket/startMonitor(_:events:)``), so a policy that
/// counts connections and one that admits them see events in one order, and neither runs on (or slows) the
/// thread that moves messages. A monitor's events are read before pending ZAP requests, so a connection's
/// `accepted` event is seen before its ZAP request.
///
/// Start it before binding the sockets it guards: a CURVE server with no ZAP handler admits every client.
/// It stops on ``stop()`` or when its context is terminated.
public final class ZAPAuthenticator: Sendable {
    /// Decides one request; runs on the authenticator's thread, and must be quick.
    public typealias Handler = @Sendable (ZAPRequest) -> ZAPVerdict
    /// Receives one monitor event; runs on the authenticator's thread.
    public typealias EventHandler = @Sendable (SocketEvent) -> Void

    /// The fixed endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let context: Context
    private let handler: Handler
    /// The `baton-zap` thread; its one command is the stop.
    private let thread = ServiceThread<Stop>(name: "baton-zap")

    private enum Stop { case stop }

    /// Creates an authenticator for a context's sockets; nothing is bound until ``start(monitors:)``.
    public init(context: Context, handler: @escaping Handler) {
        self.context = context
        self.handler = handler
    }

    /// Binds the ZAP endpoint and starts the thread; returns once requests can be answered.
    ///
    /// `monitors` are `inproc://` endpoints given to ``Socket/startMonitor(_:events:)``, each with the
    /// handler for its events. Throws if the endpoint is taken (one ZAP handler per context) or on a libzmq error.
    public func start(monitors: [(endpoint: String, handler: EventHandler)] = []) throws(ZMQError) {
        let outcome: ZMQError?
        do {
            outcome = try thread.start { [self] started in run(monitors: monitors, started: started) }
        } catch where error.code == .startedTwice {
            throw ZMQError(code: EINVAL, operation: "ZAPAuthenticator.start called twice")
        } catch {
            throw ZMQError(code: error.errno, operation: error.description)
        }
        if let outcome { throw outcome }
    }

    /// Stops the thread and closes its sockets; returns when it has ended. Later calls do nothing.
    public func stop() {
        if thread.send(.stop) { thread.waitUntilFinishedBlocking() }
    }

    private func run(monitors: [(endpoint: String, handler: EventHandler)], started: (ZMQError?) -> Void) {
        var sockets: [Socket] = []
        defer { for socket in sockets { socket.close() } }
        let zap: Socket
        do {
            zap = try Socket(context, .rep)
            sockets.append(zap)
            zap.linger = 0
            try zap.bind(Self.endpoint)
            for monitor in monitors {
                let socket = try Socket(context, .pair)
                sockets.append(socket)
                socket.linger = 0
                try socket.connect(monitor.endpoint)
            }
        } catch {
            return started(error)
        }
        started(nil)
        var poller = Poller()
        let zapItem = poller.add(zap)
        let stopItem = poller.add(fileDescriptor: thread.wakeDescriptor)
        let monitorItems = sockets.dropFirst().map { poller.add($0) }
        var frames: [[UInt8]] = []
        do {
            while true {
                try poller.poll(timeoutMilliseconds: -1)
                for (index, item) in monitorItems.enumerated() where poller.isReady(item) {
                    while try sockets[index + 1].receive(into: &frames, dontWait: true) {
                        if let event = SocketEvent(frames: frames) { monitors[index].handler(event) }
                    }
                }
                if poller.isReady(zapItem) {
                    while try zap.receive(into: &frames, dontWait: true) {
                        try zap.send(frames: answer(frames))
                    }
                }
                if poller.isReady(stopItem), !thread.takeCommands().isEmpty { return }
            }
        } catch {
            // ETERM: the context is being terminated; anything else also ends the handler.
            return
        }
    }

    /// The ZAP reply to a request: `[version][request id][status][text][user id][metadata]`.
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        let version = Array("1.0".utf8)
        guard frames.count >= 6, frames[0] == version else {
            let id = frames.count > 1 ? frames[1] : []
            return [version, id, Array("500".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        let request = ZAPRequest(domain: String(decoding: frames[2], as: UTF8.self),
                                 address: String(decoding: frames[3], as: UTF8.self), routingID: frames[4],
                                 mechanism: String(decoding: frames[5], as: UTF8.self),
                                 credentials: Array(frames.dropFirst(6)))
        switch handler(request) {
        case .allow(let userID):
            return [version, frames[1], Array("200".utf8), Array("OK".utf8), Array(userID.utf8), []]
        case .deny(let text):
            return [version, frames[1], Array("400".utf8), Array(text.utf8), [], []]
        }
    }
}
