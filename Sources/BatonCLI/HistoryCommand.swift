import ArgumentParser
import Foundation
import Store

/// `baton history`: recent requests from the history database.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show recent requests: who served them, how long they waited, how they ended.",
        discussion: """
            Reads STATE_DIR/baton.sqlite directly (read-only), so it works whether or not the supervisor is \
            running. Times are UTC; WAIT is receipt to dispatch and TOTAL receipt to reply, in milliseconds.
            """
    )

    @OptionGroup var options: HistoryOptions

    @Option(help: "How many requests, newest first.")
    var limit = 20

    @Option(help: "Only requests with this status: queued, in_flight, replied, failed, abandoned.")
    var status: String?

    @Option(help: "Only requests served by this slot's workers.")
    var slot: Int?

    @Option(help: "Only requests served by this generation.")
    var generation: Int?

    @Option(help: "Only requests received since a time (2026-11-24T22:00, UTC) or an age ago (90s, 10m, 2h, 1d).")
    var since: String?

    static let statuses = ["queued", "in_flight", "replied", "failed", "abandoned"]

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if let status, !Self.statuses.contains(status) {
            throw ValidationError("--status must be one of \(Self.statuses.joined(separator: ", "))")
        }
        if let since, Self.sinceTimestamp(since) == nil {
            throw ValidationError("--since takes a UTC time like 2026-11-24T22:00 or an age like 10m")
        }
    }

    /// The lower bound for `received_at`: an ISO time as given, or now minus an age.
    static func sinceTimestamp(_ text: String) -> String? {
        if let seconds = HistoryRetention.seconds(text) {
            return Timestamp.iso(nanoseconds: nowNanoseconds() - Int64(seconds * 1e9))
        }
        let normalized = text.replacingOccurrences(of: " ", with: "T")
        let pattern = #"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?Z?$"#
        guard normalized.range(of: pattern, options: .regularExpression) != nil else { return nil }
        return normalized.hasSuffix("Z") ? String(normalized.dropLast()) : normalized
    }

    static func nowNanoseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    func run() throws {
        let database = try options.open()
        var filter = HistoryFilter()
        filter.limit = limit
        filter.status = status
        filter.slot = slot
        filter.generation = generation
        filter.since = since.flatMap(Self.sinceTimestamp)
        let records = try HistoryQueries.history(filter, in: database)
        if options.json {
            try options.printJSON(records)
        } else {
            try CommandOutput.standardOutput.write(Self.table(records))
        }
    }

    static func table(_ records: [RequestRecord]) -> String {
        var table = TextTable(header: ["ID", "RECEIVED", "STATUS", "SLOT", "GEN", "WORKER", "TRIES", "WAIT(ms)",
                                       "TOTAL(ms)", "BYTES", "ERROR"])
        for record in records {
            table.append([
                "\(record.id)", record.receivedAt, record.status, record.slot.map(String.init) ?? "-",
                record.generation.map(String.init) ?? "-", record.workerID ?? "-", "\(record.attempts)",
                milliseconds(record.waitMicroseconds), milliseconds(record.totalMicroseconds),
                "\(record.requestBytes)/\(record.replyBytes.map(String.init) ?? "-")", record.error ?? "",
            ])
        }
        return table.render()
    }
}
