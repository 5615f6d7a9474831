import BatonProtocol
import ArgumentParser
import Broker
import ZeroMQ

/// `baton call`: send one request and print the reply.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send one request (one frame per argument) and print the reply, one frame per line.",
        discussion: "Exit status: 0 for a reply, 3 when no reply came in time, 4 for a BATON-ERR reply."
    )

    @Option(help: "The broker's frontend endpoint.")
    var frontend = "tcp://127.0.0.1:5555"

    @Option(help: "Seconds to wait for the reply.")
    var timeout: Double = 5

    @Argument(help: "The request's frames.")
    var frames: [String]

    func validate() throws {
        guard !frames.isEmpty else { throw ValidationError("give at least one frame") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        try EndpointCheck.validate(frontend, flag: "--frontend")
    }

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, Double(Int32.max))))
        try socket.connect(frontend)
        try socket.send(frames: [[]] + frames.map { Array($0.utf8) })
        guard let reply = try socket.receive() else {
            printError("no reply from \(frontend) within \(timeout) s")
            throw ExitCode(ExitStatus.noAnswer)
        }
        let body = Array(reply.frames.drop { !$0.isEmpty }.dropFirst())
        if body.first == WireProtocol.errorMarker {
            let parts = body.dropFirst().map(Message.render)
            printError("BATON-ERR " + parts.joined(separator: ": "))
            throw ExitCode(ExitStatus.errorReply)
        }
        for frame in body { print(Message.render(frame)) }
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileOutput.standardError.write(line + "\n")
}
