import Glibc

/// A signal that makes ``WorkerRuntime/run(sessions:_:)`` stop gracefully, when the worker asks for it in
/// ``WorkerOptions/stopSignals``.
///
/// The supervisor stops a managed worker with SIGTERM (then SIGKILL after `--stop-grace`), and a terminal
/// interrupts one started by hand with SIGINT. The runtime installs process-wide handlers for these signals
/// only when they are listed in ``WorkerOptions/stopSignals``, for the duration of `run`, and puts back the
/// handlers it replaced when `run` returns.
public enum StopSignal: Sendable, Hashable, CaseIterable {
    /// SIGTERM: how the supervisor stops a worker.
    case terminate
    /// SIGINT: Ctrl-C in a terminal.
    case interrupt

    /// The signal's number (`SIGTERM`, `SIGINT`).
    public var number: Int32 {
        switch self {
        case .terminate: SIGTERM
        case .interrupt: SIGINT
        }
    }
}
