import ArgumentParser
import Foundation

/// Where the supervisor's state directory is, for the commands that talk to a supervisor or read its history:
/// `--state-dir`, else `$BATON_STATE_DIR`, else the `state-dir` of `--config FILE`, else `./.baton`.
struct StateDirOption: ParsableArguments {
    @Option(help: "The supervisor's state directory (default: $BATON_STATE_DIR, else the config file's, else ./.baton).")
    var stateDir: String?

    @Option(help: "A serve config file whose state-dir to use (see deploy/baton.conf).")
    var config: String?

    /// The directory to use, and where that choice came from.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (path: String,
                                                                                                 source: String) {
        if let stateDir { return (stateDir, "--state-dir") }
        if let fromEnvironment = environment["BATON_STATE_DIR"], !fromEnvironment.isEmpty {
            return (fromEnvironment, "BATON_STATE_DIR")
        }
        if let config {
            let text: String
            do {
                text = try String(contentsOfFile: config, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read the config file \(config)")
            }
            let file = try ConfigFile(text: text, path: config)
            if let flag = file.flags.last(where: { $0.hasPrefix("--state-dir=") }) {
                return (String(flag.dropFirst("--state-dir=".count)), "state-dir in \(config)")
            }
        }
        return (ServeCommand.defaultStateDirectory, "the default")
    }

    /// The directory to use; exits with a usage error when the config file cannot be read.
    var path: String {
        get throws { try resolve().path }
    }

    /// "state directory PATH (from SOURCE); point to another with …", for messages about finding nothing there.
    func described() -> String {
        let (path, source) = (try? resolve()) ?? (stateDir ?? ".baton", "--state-dir")
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        return "state directory \(absolute) (from \(source)); "
            + "point to another with --state-dir DIR, BATON_STATE_DIR=DIR or --config FILE"
    }

    /// A sentence for "nothing answered there": which directory was tried, and how to point elsewhere.
    func notFoundHint() -> String {
        "no supervisor is answering on " + described()
    }
}

/// The exit statuses of every `baton` command, in one place (README, "Exit status").
enum ExitStatus {
    /// The command did what was asked and all is well.
    static let success: Int32 = 0
    /// It ran, but the outcome is bad: a slot failed or no worker is ready (`status`), the reload was rolled back
    /// or refused (`reload`), the supervisor is still running after the timeout (`stop`), replies were lost or
    /// wrong (`bench`), the history database cannot be read (`history`, `generations`, `workers`, `sessions`).
    static let unhealthy: Int32 = 1
    /// `serve` could not start: state directory, endpoints, worker command or history database.
    static let cannotStart: Int32 = 2
    /// Nothing answered: no supervisor on the state directory (`status`, `reload`, `stop`), no reply (`call`).
    static let noAnswer: Int32 = 3
    /// `call` got a `BATON-ERR` reply.
    static let errorReply: Int32 = 4
    /// The command line was wrong.
    static let usage: Int32 = 64
    /// The output could not be written (a full disk, an I/O error; `EX_IOERR`): the reason is on standard error.
    /// A reader that goes away (a closed pipe) is not a failure (``OutputFailure/readerGone``).
    static let outputFailed: Int32 = 74
    /// Permission denied: this user may not use that supervisor.
    static let permissionDenied: Int32 = 77
}
