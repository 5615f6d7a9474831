import BatonProtocol

/// Where a session is in its life; each stage carries exactly the data valid in it.
enum SessionStage {
    /// Its opening request waits in the queue (``SessionRecord/busy``); no worker holds it yet.
    case opening
    /// On its worker. `ending`: the worker said END while a request of the session was in flight, so the
    /// session ends once that is answered.
    case active(worker: WorkerID, ending: Bool)
    /// On a worker being replaced without handoff: the session ends as `drain-timeout` at `deadline`.
    case draining(worker: WorkerID, deadline: Instant, ending: Bool)
    /// Moving from its worker to another (a handoff during a reload): its requests are held meanwhile.
    case moving(worker: WorkerID, SessionMove, ending: Bool)
    /// Gone from its worker `from` (lost with it, or its drain timed out); its next request learns of it.
    /// `endRecorded`: its end is recorded already (a drain timeout is recorded when it happens).
    case lost(from: WorkerID, endRecorded: Bool)
}
