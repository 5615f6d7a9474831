#if canImport(Glibc)
import Glibc
#endif

/// A signal the supervisor sends to a worker's process group.
public enum WorkerSignal: Sendable, Equatable, CaseIterable {
    /// Please stop: finish what you hold and exit (`SIGTERM`).
    case terminate
    /// Stop now (`SIGKILL`), after the stop grace has passed.
    case kill

    /// The signal number.
    public var number: Int32 {
        switch self {
        case .terminate: SIGTERM
        case .kill: SIGKILL
        }
    }
}
