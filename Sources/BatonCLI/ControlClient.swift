import Supervisor
import ZeroMQ

/// A connection to a running supervisor's control socket (`STATE_DIR/control.ipc`).
///
/// Requests are `[""][command][argument…]`; answers are `[""][kind][text…]` where kind is `OK`, `ERR`, or
/// (while a reload runs) `PROGRESS`.
final class ControlClient {
    let stateDir: String
    private let context: Context
    private let socket: Socket

    enum Failure: Error, CustomStringConvertible {
        case noSupervisor(String)
        case refused(String)

        var description: String {
            switch self {
            case .noSupervisor(let directory): "no supervisor is answering on state directory \(directory)"
            case .refused(let text): "the supervisor refused: \(text)"
            }
        }
    }

    init(stateDir: String) throws {
        self.stateDir = stateDir
        context = try Context()
        do {
            socket = try Socket(context, .dealer)
            socket.linger = 0
            try socket.connect(StateDirectory.endpoint(named: "control", in: stateDir))
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

    /// The next answer, as (kind, frames after it); throws ``Failure/noSupervisor(_:)`` after `timeout` seconds.
    func receive(timeout: Double) throws -> (kind: String, frames: [[UInt8]]) {
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, 2e9)))
        guard let reply = try socket.receive(), reply.count >= 2 else { throw Failure.noSupervisor(stateDir) }
        return (String(decoding: reply.frames[1], as: UTF8.self), Array(reply.frames.dropFirst(2)))
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
