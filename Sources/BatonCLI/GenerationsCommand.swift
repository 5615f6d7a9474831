import ArgumentParser
import Store

/// `baton generations`: every generation with its request count, error rate and latency.
struct GenerationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generations",
        abstract: "Show each generation of the worker code with its requests, error rate and p50/p99 latency.",
        discussion: "Reads STATE_DIR/baton.sqlite directly (read-only). Latencies are receipt to reply, in ms."
    )

    @OptionGroup var options: HistoryOptions

    func run() throws {
        let database = try options.open()
        let generations = try HistoryQueries.generations(in: database)
        if options.json {
            try options.printJSON(generations)
        } else {
            try CommandOutput.standardOutput.write(Self.table(generations))
        }
    }

    static func table(_ generations: [GenerationSummary]) -> String {
        var table = TextTable(header: ["GEN", "STATE", "CREATED", "SHA256", "REQUESTS", "ERRORS", "ERROR%", "P50(ms)",
                                       "P99(ms)", "COMMAND"])
        for generation in generations {
            let rate = (generation.errorRate * 10_000).rounded() / 100
            table.append([
                "\(generation.id)", generation.state, generation.createdAt, String(generation.sha256.prefix(12)),
                "\(generation.requests)", "\(generation.errors)", "\(rate)",
                milliseconds(generation.p50Microseconds), milliseconds(generation.p99Microseconds),
                generation.executable + (generation.arguments == "[]" ? "" : " " + generation.arguments)
                    + (generation.reason.map { " (\($0))" } ?? ""),
            ])
        }
        return table.render()
    }
}
