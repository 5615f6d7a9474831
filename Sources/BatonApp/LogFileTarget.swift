import BatonProtocol
import Logging
import Store
import Supervisor
import Synchronization

/// Where `serve` also writes its own log (`STATE_DIR/logs/baton.log`, beside the workers' logs, for `baton logs`):
/// empty until the state directory has been checked, then a ``RotatingLogFile``.
public final class LogFileTarget: Sendable {
    private let file = Mutex<RotatingLogFile?>(nil)

    /// An empty target: lines are dropped until ``attach(_:)``.
    public init() {}

    /// Starts writing to `log`.
    public func attach(_ log: RotatingLogFile?) {
        file.withLock { $0 = log }
    }

    /// Appends one line.
    public func write(_ line: String) {
        file.withLock { $0 }?.write(line)
    }
}

/// A swift-log handler that writes lines to a ``LogFileTarget``: `TIMESTAMP LEVEL LABEL: MESSAGE key=value …`.
public struct FileLogHandler: LogHandler {
    /// The target.
    public let target: LogFileTarget
    /// The logger's label.
    public let label: String
    /// The level below which nothing is written.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]

    /// A handler for `label` writing to `target`.
    public init(label: String, target: LogFileTarget) {
        self.label = label
        self.target = target
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stamp = Timestamp.iso(nanoseconds: BatonClock.wall())
        target.write("\(stamp) \(event.level) \(label): \(event.message)\(fields.isEmpty ? "" : " " + fields)\n")
    }
}
