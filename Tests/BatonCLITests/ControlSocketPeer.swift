import Foundation
import Supervisor
import ZeroMQ

/// A raw peer of a running supervisor's control socket, for tests that send what `baton` never would.
enum ControlSocketPeer {
    /// Sends `frames` on the control socket of the supervisor in `stateDir`; returns the reply's last frame
    /// as text, or nil when no reply comes within `milliseconds`.
    static func exchange(_ frames: [[UInt8]], stateDir: String, milliseconds: Int32 = 10_000) throws -> String? {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: milliseconds)
        try socket.connect(StateDirectory.endpoint(named: "control", in: stateDir))
        _ = try socket.send(frames: frames)
        guard let reply = try socket.receive() else { return nil }
        return reply.frames.last.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sends one JSON request (after the empty delimiter frame) and returns the reply's JSON, or nil.
    static func exchange(json: String, stateDir: String) throws -> String? {
        try exchange([[], Array(json.utf8)], stateDir: stateDir)
    }
}
