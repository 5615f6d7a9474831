import CBatonSys
import Synchronization

/// How any thread asks a ``WorkerRuntime`` to stop, and how its socket thread learns of it.
final class StopRequest: Sendable {
    private struct State {
        var requested = false
        /// The eventfd of the loop that runs now, if one does.
        var wake: Int32?
    }

    private let state = Mutex(State())

    /// Asks to stop: a running loop is woken; a loop that starts later stops at once.
    func request() {
        state.withLock { state in
            state.requested = true
            if let wake = state.wake { _ = baton_eventfd_signal(wake) }
        }
    }

    /// Whether a stop has been asked for since the loop started (or before).
    var isRequested: Bool { state.withLock { $0.requested } }

    /// A loop starts: a request wakes it through `wake`.
    func attach(_ wake: Int32) {
        state.withLock { $0.wake = wake }
    }

    /// The loop has ended: the request it served is spent, and nothing writes to its eventfd any more.
    func detach() {
        state.withLock { $0 = State() }
    }
}
