import ArgumentParser
import Foundation
import Broker
import Store
import Supervisor

/// `baton status`: the slots, the queue and in-flight requests of a running supervisor.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each worker slot, the queue depth and in-flight requests of a running supervisor.",
        discussion: "Exit status 1 when no supervisor answers on the state directory, 77 when permission is denied."
    )

    @Option(help: "The supervisor's state directory.")
    var stateDir = ".baton"

    @Option(help: "Seconds to wait for the supervisor.")
    var timeout: Double = 3

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let report: StatusReport
        do {
            let reply = try ControlClient.call(.status, stateDir: stateDir, timeout: timeout)
            guard case .status(let status) = reply else { throw ControlClient.Failure.unexpected(reply) }
            report = status
        } catch {
            printError("\(error)")
            throw ExitCode(ControlClient.exitStatus(for: error, otherwise: 1))
        }
        if json {
            print(String(decoding: ControlCodec.encode(report), as: UTF8.self))
            return
        }
        print(StatusTable(report).render(), terminator: "")
    }
}

/// The human table of `baton status`.
struct StatusTable {
    let report: StatusReport

    init(_ report: StatusReport) {
        self.report = report
    }

    func render() -> String {
        var table = TextTable(header: ["SLOT", "STATE", "PID", "GEN", "UPTIME", "RESTARTS", "SERVED",
                                       "LAST EXIT / FAILURE"])
        for slot in report.slots {
            table.append([
                "\(slot.slot)",
                slot.state.rawValue + (slot.incomingGeneration.map { " (gen \($0) starting)" } ?? ""),
                slot.pid.map { "\($0)" } ?? "-", "\(slot.generation)",
                slot.uptimeSeconds.map(Self.duration) ?? "-", "\(slot.restarts)", "\(slot.served)",
                slot.failure ?? slot.lastExit ?? "",
            ])
        }
        var text = "supervisor pid \(report.pid): \(report.command)\n"
        text += "queued \(report.broker.queueDepth), in flight \(report.broker.inFlight), "
            + "idle workers \(report.broker.idleWorkers), requests \(report.broker.requestsReceived), "
            + "errors \(report.broker.errorReplies)\n"
        if report.controlPeersRefused > 0 {
            text += "control: \(report.controlPeersRefused) requests refused (peer neither this uid nor root)\n"
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
        return text + table.render()
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(total % 60)s" }
        return "\(total / 3600)h\(total % 3600 / 60)m"
    }
}
