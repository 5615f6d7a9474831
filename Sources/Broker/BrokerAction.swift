import BatonProtocol

/// How a worker frames its messages, learned from the first message it sends.
public enum WorkerFraming: Sendable, Equatable {
    /// A REQ socket (or a DEALER imitating one): messages carry an empty delimiter after the routing id.
    case request
    /// A DEALER socket speaking the Paranoid Pirate style: no delimiter after the routing id.
    case dealer
}

/// Something the broker's I/O thread must do, produced by ``BrokerCore``.
///
/// Frames are slices of the received messages, so forwarding does not copy or concatenate them.
public enum BrokerAction {
    /// Send a request to a worker: `[worker][""]?[token][""][body…]`.
    case dispatch(worker: WorkerID, framing: WorkerFraming, token: [UInt8], body: ArraySlice<[UInt8]>)
    /// Send a reply to a client: `[envelope…][""][body…]`; `request` is the id of the request it answers.
    case reply(envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>, request: RequestID)
    /// Send a heartbeat to a heartbeating worker: `[worker][0x02]`.
    case heartbeat(worker: WorkerID)
    /// Send a session command to a DEALER worker: `[worker][frames…]` (END, EXPORT or IMPORT).
    case send(worker: WorkerID, frames: [[UInt8]])
    /// Tell the supervisor about a worker's lifecycle (it drives restarts and rolling updates).
    case worker(WorkerEvent)
    /// Record an event in the history database (only with ``BrokerConfiguration/recordHistory``).
    case record(HistoryEvent)
    /// Something worth a log line (rate limited by the caller's logger).
    case log(BrokerLogEvent)
}

/// A change in a worker's life that the supervisor acts on.
public enum WorkerEvent: Sendable, Equatable {
    /// A worker registered (said READY for the first time).
    case ready(worker: WorkerID, heartbeating: Bool)
    /// A worker was removed: silent past its liveness, unreachable, or its process ended.
    case lost(worker: WorkerID, reason: WorkerLossReason, hadRequest: Bool)
    /// A worker held a request past the request timeout, or went silent: it was removed and its process
    /// must be ended.
    case hung(worker: WorkerID, reason: WorkerLossReason)
    /// A worker asked to drain holds no request and no session any more (or was never known): it can be
    /// stopped.
    case drained(worker: WorkerID)
    /// The sessions of a draining worker have all moved to `successor`, or failed to (those stay on it), or
    /// were lost with it (it ended before they moved).
    case sessionsMoved(worker: WorkerID, successor: WorkerID, moved: Int, failed: Int, lost: Int = 0)

    /// The worker's routing id.
    public var worker: WorkerID {
        switch self {
        case .ready(let worker, _), .lost(let worker, _, _), .hung(let worker, _), .drained(let worker),
             .sessionsMoved(let worker, _, _, _, _):
            worker
        }
    }
}

/// Bad or late input the broker dropped, for the (rate-limited) log.
public enum BrokerLogEvent: Sendable, Equatable {
    /// A client message without an envelope delimiter, or without a body, was dropped.
    case malformedClientMessage(frames: Int)
    /// A worker message that is not READY, HEARTBEAT or a reply was dropped.
    case malformedWorkerMessage(worker: WorkerID, frames: Int)
    /// A reply for a request the worker no longer holds (late after a timeout, or duplicated).
    case staleReply(worker: WorkerID)
    /// A busy worker's connection closed before its reply arrived; its request was answered `bad-reply`.
    case lostReply(worker: WorkerID)
    /// A worker being replaced cannot hand its sessions off: they stay until they end or the drain timeout.
    case sessionsDraining(worker: WorkerID, sessions: Int)
    /// A session could not move from a worker being replaced; it stays there.
    case handoffFailed(worker: WorkerID, reason: String)
}
