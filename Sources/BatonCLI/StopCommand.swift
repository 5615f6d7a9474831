import ArgumentParser
import Foundation
import Supervisor

/// `baton stop`: graceful shutdown of a running supervisor.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a running supervisor gracefully, as SIGTERM does, and wait until it has exited.",
        discussion: """
            Exit status: 0 once it has exited, 1 if it is still running after --timeout, 3 if none answers, 77 \
            when permission is denied.
            """
    )

    @OptionGroup var location: StateDirOption

    @Option(help: "Seconds to wait for it to exit.")
    var timeout: Double = 60

    func run() throws {
        let pid: Int32
        do {
            let reply = try ControlClient.call(.stop, location: location, timeout: 3)
            guard case .stopping(let stopping) = reply else { throw ControlClient.Failure.unexpected(reply) }
            pid = stopping
        } catch {
            printError("\(error)")
            throw ExitCode(ControlClient.exitStatus(for: error, otherwise: ExitStatus.noAnswer))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if kill(pid, 0) != 0 {
                try CommandOutput.standardOutput.line("supervisor \(pid) stopped")
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        printError("supervisor \(pid) is still running after \(timeout) s")
        throw ExitCode(1)
    }
}
