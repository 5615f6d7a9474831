import Foundation
import Supervisor
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A connection to a running supervisor's control socket (`STATE_DIR/control.ipc`).
///
/// Requests are `[""][command][argument…]`; answers are `[""][kind][text…]` where kind is `OK`, `ERR`,
/// `DENIED` (the peer's uid may not send commands), or (while a reload runs) `PROGRESS`.
final class ControlClient {
    let stateDir: String
    private let context: Context
    private let socket: Socket

    /// Exit status of a command refused for lack of permission (`EX_NOPERM`).
    static let permissionDeniedStatus: Int32 = 77

    enum Failure: Error, CustomStringConvertible {
        case noSupervisor(String)
        case refused(String)
        case permissionDenied(String)

        var description: String {
            switch self {
            case .noSupervisor(let directory): "no supervisor is answering on state directory \(directory)"
            case .refused(let text): "the supervisor refused: \(text)"
            case .permissionDenied(let text): text
            }
        }
    }

    /// The exit status for a failed command: ``permissionDeniedStatus`` when permission was denied,
    /// `otherwise` for anything else.
    static func exitStatus(for error: any Error, otherwise: Int32) -> Int32 {
        if case Failure.permissionDenied = error { return permissionDeniedStatus }
        return otherwise
    }

    init(stateDir: String) throws {
        self.stateDir = stateDir
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

    /// Sends a command with optional argument frames.
    func send(_ command: String, _ arguments: [[UInt8]] = []) throws {
        try socket.send(frames: [[], Array(command.utf8)] + arguments)
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

    /// The next answer, as (kind, frames after it); throws ``Failure/noSupervisor(_:)`` after `timeout` seconds,
    /// and ``Failure/permissionDenied(_:)`` when the supervisor refused this process's uid.
    func receive(timeout: Double) throws -> (kind: String, frames: [[UInt8]]) {
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, 2e9)))
        guard let reply = try socket.receive(), reply.count >= 2 else { throw Failure.noSupervisor(stateDir) }
        let kind = String(decoding: reply.frames[1], as: UTF8.self)
        if kind == "DENIED" {
            throw Failure.permissionDenied(reply.frames.dropFirst(2).map(Message.render).joined(separator: " "))
        }
        return (kind, Array(reply.frames.dropFirst(2)))
    }

    /// Sends one command and returns the frames after `OK`; throws ``Failure/refused(_:)`` on `ERR`.
    static func call(_ command: String, stateDir: String, timeout: Double) throws -> [[UInt8]] {
        let client = try ControlClient(stateDir: stateDir)
        try client.send(command)
        let answer = try client.receive(timeout: timeout)
        guard answer.kind == "OK" else {
            throw Failure.refused(answer.frames.map(Message.render).joined(separator: " "))
        }
        return answer.frames
    }
}
