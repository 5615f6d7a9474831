import ArgumentParser
import BatonApp
import Logging

/// `--log-level`, shared by commands that log.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
    }

    /// Sets up swift-log to write to stderr (and to `file`, when given) and returns a logger for `label`.
    func makeLogger(label: String, file: LogFileTarget? = nil) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            guard let file else { return handler }
            var fileHandler = FileLogHandler(label: label, target: file)
            fileHandler.logLevel = level
            return MultiplexLogHandler([handler, fileHandler])
        }
        return Logger(label: label)
    }
}
