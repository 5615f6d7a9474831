import BatonProtocol
@testable import Supervisor

/// A reload action as the log and `baton reload` put it, so that tests check the words users read.
enum Said: Equatable {
    /// A step of the reload, in words.
    case progress(String)
    /// The reload's end, with its words.
    case finished(succeeded: Bool, generation: GenerationID, previous: GenerationID, message: String)
    /// Any other action.
    case other
}

extension PoolAction {
    /// The action in words (``Said/other`` for what is not a reload's progress or end).
    var said: Said {
        switch self {
        case .reloadProgress(let step): .progress(step.description)
        case .reloadFinished(let outcome):
            .finished(succeeded: outcome.succeeded, generation: outcome.generation, previous: outcome.previous,
                      message: outcome.description)
        case .spawn, .signal, .workerGone, .slotFailed, .restartScheduled, .workerLeft, .drain, .resume,
             .preferSessions:
            .other
        }
    }
}

/// The reload steps among `actions`, in words.
func progress(_ actions: [PoolAction]) -> [String] {
    actions.compactMap { if case .progress(let line) = $0.said { line } else { nil } }
}
