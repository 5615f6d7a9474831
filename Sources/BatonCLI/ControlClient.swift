import Supervisor
import ZeroMQ

/// A connection to a running supervisor's control socket (`STATE_DIR/control.ipc`): sends
/// ``ControlRequest``s and reads ``ControlReply``s (docs/protocol.md, "Control protocol").
final class ControlClient {
    let stateDir: String
    private let context: Context
    private let socket: Socket

    enum Failure: Error, CustomStringConvertible {
        case noSupervisor(String)
        case refused(String)
        case unexpected(ControlReply)

        var description: String {
            switch self {
            case .noSupervisor(let directory): "no supervisor is answering on state directory \(directory)"
            case .refused(let text): "the supervisor refused: \(text)"
            case .unexpected(let reply): "unexpected answer from the supervisor: \(reply)"
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

    /// Sends a request: `[""][JSON]`.
    func send(_ request: ControlRequest) throws {
        try socket.send(frames: [[], ControlCodec.encode(request)])
    }

    /// The next answer; throws ``Failure/noSupervisor(_:)`` after `timeout` seconds without one.
    func receive(timeout: Double) throws -> ControlReply {
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, 2e9)))
        guard let reply = try socket.receive(), reply.count == 2,
              let answer = ControlCodec.decode(ControlReply.self, from: reply.frames[1])
        else { throw Failure.noSupervisor(stateDir) }
        return answer
    }

    /// Sends one request and returns its answer; throws ``Failure/refused(_:)`` when it is refused.
    static func call(_ request: ControlRequest, stateDir: String, timeout: Double) throws -> ControlReply {
        let client = try ControlClient(stateDir: stateDir)
        try client.send(request)
        let answer = try client.receive(timeout: timeout)
        if case .refused(let reason) = answer { throw Failure.refused(reason) }
        return answer
    }
}
