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
    var frontend = ServeCommand.defaultFrontend

    @Option(help: "Seconds to wait for the reply.")
    var timeout: Double = 5

    @Option(parsing: .unconditional,
            help: "Send the request in this session (BATON-SESSION): it goes to the worker that holds the session.")
    var session: String?

    @OptionGroup var curve: CurveClientOptions

    @Argument(help: "The request's frames.")
    var frames: [String]

    func validate() throws {
        guard !frames.isEmpty else { throw ValidationError("give at least one frame") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if let session, session.utf8.isEmpty || session.utf8.count > WireProtocol.maxSessionKeyBytes {
            throw ValidationError("--session takes a key of 1 to \(WireProtocol.maxSessionKeyBytes) bytes")
        }
        try EndpointCheck.validate(frontend, flag: "--frontend")
    }

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: Int32(min(timeout * 1000, Double(Int32.max))))
        if let credentials = try curve.credentials() { try socket.useCurveClient(credentials) }
        try socket.connect(frontend)
        let sessionFrames = session.map { [WireProtocol.sessionMarker, Array($0.utf8)] } ?? []
        try socket.send(frames: [[]] + sessionFrames + frames.map { Array($0.utf8) })
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
        for frame in body { try CommandOutput.standardOutput.line(Message.render(frame)) }
    }
}

/// Writes a line to standard error (after what standard output holds); a failure to do so is ignored, as
/// there is nowhere left to report it.
func printError(_ line: String) {
    try? CommandOutput.standardError.line(line)
}
