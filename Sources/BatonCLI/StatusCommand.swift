import ArgumentParser
import BatonProtocol
import Foundation
import Broker
import Store
import Supervisor

/// `baton status`: the slots, the queue and in-flight requests of a running supervisor.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each worker slot, the queue depth and in-flight requests of a running supervisor.",
        discussion: """
            Exit status: 0 when every slot is serving or starting and some worker is ready, 1 when a slot has \
            failed or no worker is ready, 3 when no supervisor answers, 74 when the output cannot be written, 77 \
            when permission is denied. With --watch, a live view refreshed every second; q or Ctrl-C quits, and \
            so does a reader of the output that goes away (`| head`).
            """
    )

    @OptionGroup var location: StateDirOption

    @Option(help: "Seconds to wait for the supervisor.")
    var timeout: Double = 3

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Keep refreshing every second (requests/s, queue, slots, reload progress) until q or Ctrl-C.")
    var watch = false

    @Option(help: "With --watch: stop after this many refreshes (like top -n).")
    var count: Int?

    func validate() throws {
        guard !(watch && json) else { throw ValidationError("--watch and --json do not go together") }
        guard count.map({ $0 >= 1 && watch }) ?? true else { throw ValidationError("--count takes --watch and 1 or more") }
    }

    func run() throws {
        if watch { return try StatusWatch(location: location, timeout: timeout, count: count).run() }
        let report: StatusReport
        do {
            report = try Self.fetch(location: location, timeout: timeout)
        } catch {
            printError("\(error)")
            throw ExitCode(ControlClient.exitStatus(for: error, otherwise: ExitStatus.unhealthy))
        }
        if json {
            try CommandOutput.standardOutput.line(String(decoding: ControlCodec.encode(report), as: UTF8.self))
        } else {
            try CommandOutput.standardOutput.write(StatusTable(report).render())
        }
        if !Self.isHealthy(report) { throw ExitCode(ExitStatus.unhealthy) }
    }

    /// Asks the supervisor for its status.
    static func fetch(location: StateDirOption, timeout: Double) throws -> StatusReport {
        let reply = try ControlClient.call(.status, location: location, timeout: timeout)
        guard case .status(let status) = reply else { throw ControlClient.Failure.unexpected(reply) }
        return status
    }

    /// Healthy: no slot has failed, and some worker (managed or external) is ready to take requests.
    static func isHealthy(_ report: StatusReport) -> Bool {
        !report.slots.contains { $0.state == .failed } && report.broker.workers > 0
    }
}

/// The human table of `baton status`.
struct StatusTable {
    let report: StatusReport

    init(_ report: StatusReport) {
        self.report = report
    }

    func render() -> String {
        var table = TextTable(header: ["SLOT", "STATE", "PID", "GEN", "UPTIME", "RESTARTS", "IN FLIGHT", "SESSIONS",
                                       "SERVED",
                                       "LAST EXIT / FAILURE"])
        for slot in report.slots {
            table.append([
                "\(slot.slot)",
                Self.state(of: slot),
                slot.pid.map { "\($0)" } ?? "-", "\(slot.generation)",
                slot.uptimeSeconds.map(Self.duration) ?? "-", "\(slot.restarts)",
                slot.capacity > 0 ? "\(slot.inFlight)/\(slot.capacity)" : "-", "\(slot.sessions)", "\(slot.served)",
                slot.failure ?? slot.lastExit ?? "",
            ])
        }
        for worker in report.externalWorkers {
            table.append(["ext", "ready", "-", "-", "-", "-", "\(worker.inFlight)/\(worker.capacity)", "\(worker.sessions)",
                          "\(worker.served)",
                          "external worker \(worker.id)"])
        }
        var text = "supervisor pid \(report.pid): \(report.command)\n"
        text += "queued \(report.broker.queueDepth), in flight \(report.broker.inFlight), "
            + "idle workers \(report.broker.idleWorkers), requests \(report.broker.requestsReceived), "
            + "errors \(report.broker.errorReplies), sessions \(report.broker.sessionsOpen)\n"
        if report.controlPeersRefused > 0 {
            text += "control: \(report.controlPeersRefused) requests refused (peer neither this uid nor root)\n"
        }
        if report.controlRequestsUnreadable > 0 {
            text += "control: \(report.controlRequestsUnreadable) requests refused (unreadable: another protocol "
                + "version, an unknown command, or malformed)\n"
        }
        if let history = report.history {
            if history.state == .degraded {
                text += "history: DEGRADED: \(history.problem ?? "unknown problem"); "
                    + "\(history.waitingEvents) events waiting in memory\n"
            }
            let size = history.fileBytes.map { file in
                "database \(ByteSize.format(file)) on disk, \(ByteSize.format(history.usedBytes ?? 0)) used, "
            } ?? ""
            text += "history: \(size)\(history.requestRows) request rows written, \(history.droppedEvents) events "
                + "dropped, \(history.failedBatches) failed writes\n"
        }
        if let descriptors = report.descriptors { text += Self.bounds(report.broker, descriptors) }
        return text + table.render()
    }

    /// A slot's STATE: its state, and what a reload waits for in it, e.g. "ready (gen 3 starting)" or
    /// "draining 3 sessions, until 12:04:31 (gen 3 ready)".
    static func state(of slot: SlotStatus, timeZone: TimeZone = .current) -> String {
        guard let wait = slot.reloadWait else {
            return slot.state.rawValue + (slot.incomingGeneration.map { " (gen \($0) starting)" } ?? "")
        }
        switch wait.step {
        case .ready:
            return slot.state.rawValue + " (gen \(wait.generation) starting"
                + (wait.until.map { ", until " + ReloadWait.clock($0, timeZone: timeZone) } ?? "") + ")"
        case .drain:
            let next = slot.incomingGeneration.map { " (gen \($0) ready)" } ?? " (gen \(wait.generation) next)"
            return wait.words(timeZone: timeZone) + next
        case .rollback:
            return slot.state.rawValue + " (" + wait.words(timeZone: timeZone) + ")"
        }
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(total % 60)s" }
        return "\(total / 3600)h\(total % 3600 / 60)m"
    }
}
