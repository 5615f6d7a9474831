import ArgumentParser
import Store

/// `baton workers`: worker processes from the history database.
struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "Show recent worker processes: slot, pid, generation, when they started, were ready and ended.",
        discussion: "Reads STATE_DIR/baton.sqlite directly (read-only)."
    )

    @OptionGroup var options: HistoryOptions

    @Option(help: "How many workers, newest first.")
    var limit = 50

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let database = try options.open()
        let workers = try HistoryQueries.workers(limit: limit, in: database)
        if options.json {
            try options.printJSON(workers)
        } else {
            try CommandOutput.standardOutput.write(Self.table(workers))
        }
    }

    static func table(_ workers: [WorkerRow]) -> String {
        var table = TextTable(header: ["WORKER", "SLOT", "GEN", "PID", "SPAWNED", "READY", "EXITED", "REPLIED", "EXIT"])
        for worker in workers {
            let status = [worker.exitReason, worker.exitCode.map { "exit \($0)" }, worker.exitSignal.map { "signal \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            table.append([
                worker.workerID, worker.slot.map(String.init) ?? "-", worker.generation.map(String.init) ?? "-",
                worker.pid.map(String.init) ?? "-", worker.spawnedAt ?? "-", worker.readyAt ?? "-",
                worker.exitedAt ?? "-", "\(worker.replied)", status,
            ])
        }
        return table.render()
    }
}
