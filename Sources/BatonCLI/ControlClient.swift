import Foundation
import Supervisor
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A connection to a running supervisor's control socket (`STATE_DIR/control.ipc`): sends
/// ``ControlRequest``s and reads ``ControlReply``s (docs/protocol.md, "Control protocol").
final class ControlClient {
    let stateDir: String
    /// What to say when nothing answers: which directory was tried and how to point elsewhere.
    let notFound: String
    private let context: Context
    private let socket: Socket

    /// Exit status of a command refused for lack of permission (`EX_NOPERM`).
    static let permissionDeniedStatus: Int32 = 77

    enum Failure: Error, CustomStringConvertible {
        case noSupervisor(String)
        case refused(String)
        case permissionDenied(String)
        case unexpected(ControlReply)
        /// The answer could not be read: the supervisor speaks another control protocol version, or sent
        /// something that is not a reply.
        case unreadable(ControlMessageError)

        var description: String {
            switch self {
            case .noSupervisor(let text): text
            case .refused(let text): "the supervisor refused: \(text)"
            case .permissionDenied(let text): text
            case .unexpected(let reply): "unexpected answer from the supervisor: \(reply.kind.rawValue)"
            case .unreadable(let error): "cannot read the supervisor's answer: \(error)"
            }
        }
    }

    /// The exit status for a failed command: ``permissionDeniedStatus`` when permission was denied,
    /// ``ExitStatus/noAnswer`` when no supervisor answered, `otherwise` for anything else.
    static func exitStatus(for error: any Error, otherwise: Int32) -> Int32 {
        guard let failure = error as? Failure else { return otherwise }
        switch failure {
        case .permissionDenied: return permissionDeniedStatus
        case .noSupervisor: return ExitStatus.noAnswer
        case .refused, .unexpected, .unreadable: return otherwise
        }
    }

    /// Connects to the supervisor of the state directory `location` resolves to.
    convenience init(location: StateDirOption) throws {
        try self.init(stateDir: try location.path, notFound: location.notFoundHint())
    }

    init(stateDir: String, notFound: String? = nil) throws {
        self.stateDir = stateDir
        self.notFound = notFound ?? "no supervisor is answering on state directory \(stateDir)"
        let endpoint = StateDirectory.endpoint(named: "control", in: stateDir)
        try Self.checkAccess(endpoint)
        context = try Context()
        do {
            socket = try Socket(context, .dealer)
            socket.linger = 0
            try socket.connect(endpoint)
        } catch {
            context.terminate()
            throw error
        }
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// Sends a request: `[""][JSON]`.
    func send(_ request: ControlRequest) throws {
        try socket.send(frames: [[], ControlCodec.encode(request)])
    }

    /// Throws ``Failure/permissionDenied(_:)`` when this process may not connect to the ipc socket of
    /// `endpoint` (it exists, or may exist, but the socket or a directory above it denies access), since
    /// ZeroMQ would only retry such a connection in silence.
    static func checkAccess(_ endpoint: String) throws {
        guard endpoint.hasPrefix("ipc://") else { return }
        let path = String(endpoint.dropFirst("ipc://".count))
        if faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0 && (errno == EACCES || errno == EPERM) {
            throw Failure.permissionDenied("permission denied: cannot open the control socket \(path) "
                                           + "(only the supervisor's user and root may)")
        }
    }

    /// The next answer; throws ``Failure/noSupervisor(_:)`` after `timeout` seconds without one, and
    /// ``Failure/permissionDenied(_:)`` when the supervisor refused this process's uid.
    func receive(timeout: Double) throws -> ControlReply {
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, 2e9)))
        guard let reply = try socket.receive(), reply.count == 2 else { throw Failure.noSupervisor(notFound) }
        switch ControlCodec.read(ControlReply.self, from: reply.frames[1]) {
        case .success(.denied(let reason)): throw Failure.permissionDenied(reason)
        case .success(let answer): return answer
        case .failure(let error): throw Failure.unreadable(error)
        }
    }

    /// Sends one request and returns its answer; throws ``Failure/refused(_:)`` when it is refused.
    static func call(_ request: ControlRequest, location: StateDirOption, timeout: Double) throws -> ControlReply {
        let client = try ControlClient(location: location)
        try client.send(request)
        let answer = try client.receive(timeout: timeout)
        if case .refused(let reason) = answer { throw Failure.refused(reason) }
        return answer
    }
}
