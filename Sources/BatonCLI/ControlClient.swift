import Supervisor
import ZeroMQ

/// Sends one command to a running supervisor's control socket and returns the reply frames after `OK`.
struct ControlClient {
    let stateDir: String
    let timeout: Double

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

    func call(_ command: String) throws -> [[UInt8]] {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: Int32(timeout * 1000))
        try socket.connect(StateDirectory.endpoint(named: "control", in: stateDir))
        try socket.send(frames: [[], Array(command.utf8)])
        guard let reply = try socket.receive(), reply.count >= 2 else { throw Failure.noSupervisor(stateDir) }
        let body = Array(reply.frames.dropFirst())
        guard body.first == Array("OK".utf8) else {
            throw Failure.refused(body.dropFirst().map(Message.render).joined(separator: " "))
        }
        return Array(body.dropFirst())
    }
}
