import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

extension Baton {
    /// Ends the process the way `error` (nil: success) says, after writing out what the command left in
    /// ``CommandOutput/standardOutput``.
    ///
    /// - An ``OutputFailure/readerGone`` ends the command quietly with the status it had already decided, 0
    ///   when it was still writing (`logs -f`, `status --watch`).
    /// - Any other ``OutputFailure`` prints its reason and exits ``ExitStatus/outputFailed``.
    /// - Help, version and completion text (a clean exit) goes through the same checked output.
    /// - Anything else: the argument parser's message on standard error and its exit status.
    static func finish(_ error: (any Error)?) -> Never {
        var status = ExitStatus.success
        var failure: OutputFailure?
        if let error {
            if let output = error as? OutputFailure {
                failure = output
            } else {
                let code = exitCode(for: error)
                let message = fullMessage(for: error)
                if code == .success {
                    if !message.isEmpty { failure = Self.attempt { try CommandOutput.standardOutput.line(message) } }
                } else {
                    if !message.isEmpty { printError(message) }
                    status = code.rawValue
                }
            }
        }
        if failure == nil { failure = Self.attempt { try CommandOutput.standardOutput.flush() } }
        if let failure, case .failed = failure {
            printError("baton: \(failure)")
            status = ExitStatus.outputFailed
        }
        Glibc.exit(status)
    }

    /// The failure `body` throws, or nil.
    private static func attempt(_ body: () throws -> Void) -> OutputFailure? {
        do {
            try body()
            return nil
        } catch {
            return error as? OutputFailure
        }
    }
}
