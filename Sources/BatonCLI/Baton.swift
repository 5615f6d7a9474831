import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `baton`: a process supervisor for game servers, with an in-process ZeroMQ LRU broker.
@main
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "A process supervisor for game servers, with an in-process ZeroMQ LRU broker.",
        discussion: """
            Clients connect to the frontend (a ZeroMQ ROUTER; REQ and DEALER clients work unchanged), workers \
            to the backend; each request goes to the worker that has been idle longest. See docs/protocol.md.

            Shell completion: `baton --generate-completion-script bash` (or zsh, fish).
            """,
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, StatusCommand.self, ReloadCommandLine.self, StopCommand.self, LogsCommand.self,
            HistoryCommand.self, GenerationsCommand.self, WorkersCommand.self, SessionsCommand.self, CallCommand.self,
            BenchCommand.self, KeygenCommand.self,
        ],
        defaultSubcommand: nil
    )

    /// Expands `serve --config FILE` before parsing, then runs the command; a usage error gets a hint when one
    /// helps (``UsageHint``); how the command ended, its output included, decides the exit status (``finish(_:)``).
    ///
    /// SIGPIPE is ignored first, in every command: a log or output pipe whose reader has gone (`| head`, a
    /// `tee` stopped by Ctrl-C) makes writes fail with `EPIPE` instead of killing the process (and, for
    /// `serve`, skipping the drain); ``CommandOutput`` ends the command quietly then, and logging goes on.
    /// Workers start with default dispositions.
    static func main() async {
        _ = signal(SIGPIPE, SIG_IGN)
        let arguments: [String]
        do {
            arguments = try ConfigFile.expand(CommandLine.arguments)
        } catch {
            printError("baton: \(error)")
            finish(ExitCode(ExitStatus.usage))
        }
        let rest = Array(arguments.dropFirst())
        do {
            var command = try await asyncParseAsRoot(rest)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }
            guard !(error is OutputFailure),
                  let message = UsageHint.rewrite(fullMessage(for: error), arguments: rest, subcommands: names)
            else { finish(error) }
            printError(message)
            finish(ExitCode(exitCode(for: error).rawValue))
        }
        finish(nil)
    }
}
