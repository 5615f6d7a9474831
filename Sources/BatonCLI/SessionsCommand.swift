import BatonProtocol
import ArgumentParser
import Store

/// `baton sessions`: open sessions per worker (or every session lifetime) from the history database.
struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Show open sessions per worker: key, worker, generation, when each opened, its requests.",
        discussion: """
            Reads STATE_DIR/baton.sqlite directly (read-only), so it works whether or not the supervisor is \
            running. Times are UTC. A key that is not printable UTF-8 is shown as x'HEX'. REQUESTS is the count \
            the session's end reported, or, while it is open, the requests recorded with its key so far; MOVES \
            counts handoffs to another worker. With --all, HOW says how each session ended: ended (by its \
            worker), idle, lost (its worker was lost), drain-timeout, shutdown; or open.
            """
    )

    @OptionGroup var options: HistoryOptions

    @Flag(help: "Ended sessions too, with how they ended.")
    var all = false

    @Option(help: "How many sessions, the newest.")
    var limit = 1000

    @Option(help: "Only sessions of this key (text, or x'HEX' as shown).")
    var key: String?

    @Option(help: "Only sessions held by this worker (its id, as baton workers shows it).")
    var worker: String?

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if let key, SessionKey.keys(displayedAs: key).isEmpty {
            throw ValidationError("--key: write a key with control characters or invalid UTF-8 as x'HEX'")
        }
    }

    func run() throws {
        let database = try options.open()
        var filter = SessionFilter()
        filter.includeEnded = all
        filter.limit = limit
        filter.keys = key.map(SessionKey.keys(displayedAs:))
        filter.workerID = worker
        let found: (sessions: [SessionRecord], matching: Int)
        do {
            found = try HistoryQueries.sessions(filter, in: database)
        } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.unhealthy)
        }
        if options.json {
            try options.printJSON(found.sessions)
        } else {
            try CommandOutput.standardOutput.write(Self.table(found.sessions, all: all))
        }
        if found.matching > found.sessions.count {
            printError("showing the newest \(found.sessions.count) of \(found.matching) sessions; --limit N for more")
        }
    }

    /// The sessions as a table, in the order given (per worker); with `all`, when and how each ended.
    static func table(_ sessions: [SessionRecord], all: Bool) -> String {
        let ending = all ? ["ENDED", "HOW"] : []
        var table = TextTable(header: ["WORKER", "SLOT", "GEN", "KEY", "OPENED"] + ending + ["REQUESTS", "MOVES"])
        for session in sessions {
            let ended = all ? [session.endedAt ?? "-", session.endReason ?? "open"] : []
            table.append([
                session.workerID ?? "-", session.slot.map(String.init) ?? "-",
                session.generation.map(String.init) ?? "-", session.displayKey, session.openedAt,
            ] + ended + ["\(session.requests)", "\(session.moves)"])
        }
        return table.render()
    }
}
