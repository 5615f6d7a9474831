import BatonProtocol
import ArgumentParser
import Foundation
import Supervisor

/// `baton reload`: roll the running supervisor's workers to a new generation, one slot at a time.
struct ReloadCommandLine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Replace every worker with a new generation of the code, one slot at a time, without losing requests.",
        usage: "baton reload [<options>] [-- COMMAND [ARGS...]]",
        discussion: """
            With no COMMAND, the current command runs again (deploy by replacing its binary on disk first). For \
            each slot: start the new worker, wait for its READY, drain the old one (its requests finish; its \
            sessions move to the new worker, or end, or time out after serve's --session-drain-timeout), stop \
            it. While a step waits, what it waits for and until when is shown every few seconds, and the command \
            waits as long as the supervisor says it will. If a new worker cannot start, exits, or sends no READY in time, the update is rolled back: the \
            old generation serves in every slot and the new generation is marked failed. Requests are held, \
            never lost. Exit status: 0 when the new generation is active, 1 when it was rolled back or refused \
            (the reason is printed), 3 when no supervisor answers, 77 when permission is denied. SIGHUP to \
            `baton serve` does the same as a reload of the current command.
            """
    )

    @OptionGroup var location: StateDirOption

    @Option(help: "1: start each new worker before stopping the old one; 0: stop the old one first (for workers that hold an exclusive resource).")
    var surge = 1

    @Option(help: "Seconds a new worker has to send READY before the update is rolled back.")
    var readyTimeout: Double = 30

    @Option(help: "Seconds an old worker has to finish its request before it is stopped anyway.")
    var drainTimeout: Double = 60

    @Argument(parsing: .postTerminator, help: "A new worker command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        guard surge == 0 || surge == 1 else { throw ValidationError("--surge must be 0 or 1") }
        guard readyTimeout > 0, TimeSpan(seconds: readyTimeout) != nil, TimeSpan(seconds: drainTimeout) != nil
        else {
            throw ValidationError("--ready-timeout must be above 0 and --drain-timeout at least 0, both at most "
                                  + "\(Int(TimeSpan.maxSeconds)) seconds")
        }
    }

    func run() throws {
        var arguments = command
        if arguments.first == "--" { arguments.removeFirst() }
        let request = ReloadRequest(command: arguments.isEmpty ? nil : arguments, surge: surge == 1,
                                    readyTimeoutSeconds: readyTimeout, drainTimeoutSeconds: drainTimeout)
        let client: ControlClient
        do {
            client = try ControlClient(location: location)
        } catch {
            printError("\(error)")
            throw ExitCode(ControlClient.exitStatus(for: error, otherwise: ExitStatus.noAnswer))
        }
        try client.send(.reload(request))
        let terminal = isatty(1) == 1
        // The supervisor answers at once (first step, or a refusal); after that it says what each step waits
        // for and how long, and repeats it while it waits.
        var timeout = 5.0
        var lastLine: String?
        let output = CommandOutput.standardOutput
        while true {
            let answer: ControlReply
            do {
                answer = try client.receive(timeout: timeout)
            } catch {
                if terminal { try output.line("") }
                if lastLine != nil, case ControlClient.Failure.noSupervisor = error {
                    printError("no answer from the supervisor for \(Int(timeout)) s during the reload; it may still be "
                               + "running: see `baton status --state-dir \(client.stateDir)`")
                } else {
                    printError("\(error)")
                }
                throw ExitCode(ControlClient.exitStatus(for: error, otherwise: ExitStatus.noAnswer))
            }
            switch answer {
            case .progress(let step, let wait):
                timeout = Self.patience(for: wait, readyTimeout: readyTimeout, drainTimeout: drainTimeout)
                let text = step.description
                // A wait repeated unchanged is not printed again (off a terminal, each line stays).
                if text != lastLine || terminal {
                    try output.write(terminal ? "\r\u{1B}[2K" + text : text + "\n")
                    try output.flush()
                }
                lastLine = text
            case .finished(let outcome) where outcome.succeeded:
                try output.line((terminal ? "\r\u{1B}[2K" : "") + outcome.description)
                return
            case .finished(let outcome):
                if terminal { try output.line("") }
                printError("reload failed: \(outcome)")
                throw ExitCode(1)
            case .refused(let text):
                if terminal { try output.line("") }
                printError("reload failed: \(text)")
                throw ExitCode(1)
            case .status, .stopping, .denied:
                if terminal { try output.line("") }
                printError("\(ControlClient.Failure.unexpected(answer))")
                throw ExitCode(1)
            }
        }
    }
}

extension ReloadCommandLine {
    /// Seconds of silence allowed between progress messages, beyond what the step waits for: the supervisor
    /// repeats a wait every few seconds, and a step ends with a message at its deadline at the latest.
    static let margin = 30.0

    /// How long to wait for the next message after one that says what the reload waits for: the time left
    /// in that wait plus ``margin``, and never less than the ready and drain timeouts plus the margin (all a
    /// supervisor that does not say its wait gets).
    static func patience(for wait: ReloadWait?, readyTimeout: Double, drainTimeout: Double) -> Double {
        let floor = readyTimeout + drainTimeout + margin
        guard let left = wait?.secondsLeft else { return floor }
        return max(floor, left + margin)
    }
}
