import ArgumentParser
import Foundation
import LoadGen

/// `baton bench`: load generator that checks every reply.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Generate load against a broker and check every reply against its request.",
        discussion: """
            Needs echo workers (the example worker, or the reference C worker). Prints throughput and latency \
            percentiles; exits 1 if any request was lost, got a wrong reply, or got an error reply.
            """
    )

    @Option(help: "The broker's frontend endpoint.")
    var frontend = ServeCommand.defaultFrontend

    @Option(name: [.short, .long], help: "Concurrent clients.")
    var clients = 16

    @Option(name: [.short, .long], help: "Requests in flight per client.")
    var window = 1

    @Option(name: [.short, .long], help: "Seconds of measured load.")
    var duration: Double = 5

    @Option(name: [.short, .long], help: "Send this many requests in all instead of running for --duration.")
    var total: Int?

    @Option(help: "Seconds of unmeasured warm-up.")
    var warmup: Double = 0.5

    @Option(name: [.short, .long], help: "Request body size in bytes (at least 16).")
    var size = 64

    @Flag(help: "Send every request in a session (BATON-SESSION, one key per client and window slot).")
    var sessions = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var curve: CurveClientOptions

    func validate() throws {
        guard clients >= 1, window >= 1 else { throw ValidationError("--clients and --window must be at least 1") }
        guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be positive") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16") }
        if let total, total < 1 { throw ValidationError("--total must be at least 1") }
        try EndpointCheck.validate(frontend, flag: "--frontend")
    }

    func run() throws {
        var options = LoadOptions(endpoint: frontend)
        options.clients = clients
        options.window = window
        options.duration = duration
        options.total = total
        options.warmup = total == nil ? warmup : 0
        options.size = size
        options.sessions = sessions
        options.curve = try curve.credentials()
        let report = try LoadGenerator(options: options).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try CommandOutput.standardOutput.line(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            try CommandOutput.standardOutput.line(report.keyValueLine)
        }
        if !report.isClean { throw ExitCode(1) }
    }
}
