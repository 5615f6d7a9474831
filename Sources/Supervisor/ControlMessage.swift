import Foundation

/// A request on the supervisor's control socket (docs/protocol.md, "Control protocol").
///
/// On the wire a request is `[""][JSON]` from a DEALER socket, the JSON an object with the protocol
/// ``ControlCodec/version`` and the command's name, and the command's fields beside them:
/// `{"version":1,"command":"status"}`, `{"version":1,"command":"stop"}`,
/// `{"version":1,"command":"reload","worker_command":["/opt/game/v2"],"surge":true,…}` (``ReloadRequest``).
public enum ControlRequest: Sendable, Equatable {
    /// The supervisor's slots, broker and history counters.
    case status
    /// A graceful shutdown, as SIGTERM.
    case stop
    /// A rolling update; answered with progress, then its outcome.
    case reload(ReloadRequest)

    /// The command's name on the wire.
    public enum Command: String, Sendable, CaseIterable {
        /// ``ControlRequest/status``.
        case status
        /// ``ControlRequest/stop``.
        case stop
        /// ``ControlRequest/reload(_:)``.
        case reload
    }

    /// The command's name on the wire.
    public var command: Command {
        switch self {
        case .status: .status
        case .stop: .stop
        case .reload: .reload
        }
    }
}

/// An answer on the control socket: `[""][JSON]`, one per request, except a reload, which gets any number of
/// ``progress(_:wait:)`` answers before its ``finished(_:)`` or ``refused(_:)``.
///
/// On the wire: `{"version":1,"reply":"stopping","pid":1234}`, the reply's name beside the protocol version
/// and its fields beside them (docs/protocol.md).
public enum ControlReply: Sendable, Equatable {
    /// The answer to ``ControlRequest/status``.
    case status(StatusReport)
    /// The answer to ``ControlRequest/stop``: the supervisor's pid, to wait for.
    case stopping(pid: Int32)
    /// A step of a running reload, with what it waits for now and how long it will. While a reload waits,
    /// ``ReloadProgress/waiting(_:)`` is sent every few seconds with the wait updated.
    case progress(ReloadProgress, wait: ReloadWait? = nil)
    /// A reload ended: the new generation serves in every slot, or it was rolled back or interrupted.
    case finished(ReloadOutcome)
    /// The request was refused (a reload already running, a malformed request, another protocol version).
    case refused(String)
    /// The peer may not send commands: it runs as neither the supervisor's uid nor root (docs/security.md).
    case denied(String)

    /// The reply's name on the wire.
    public enum Kind: String, Sendable, CaseIterable {
        /// ``ControlReply/status(_:)``.
        case status
        /// ``ControlReply/stopping(pid:)``.
        case stopping
        /// ``ControlReply/progress(_:wait:)``.
        case progress
        /// ``ControlReply/finished(_:)``.
        case finished
        /// ``ControlReply/refused(_:)``.
        case refused
        /// ``ControlReply/denied(_:)``.
        case denied
    }

    /// The reply's name on the wire.
    public var kind: Kind {
        switch self {
        case .status: .status
        case .stopping: .stopping
        case .progress: .progress
        case .finished: .finished
        case .refused: .refused
        case .denied: .denied
        }
    }
}
