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
    case dispatch(worker: [UInt8], framing: WorkerFraming, token: [UInt8], body: ArraySlice<[UInt8]>)
    /// Send a reply to a client: `[envelope…][""][body…]`.
    case reply(envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>)
    /// Send a heartbeat to a heartbeating worker: `[worker][0x02]`.
    case heartbeat(worker: [UInt8])
    /// Something worth a log line (rate limited by the caller's logger).
    case log(BrokerLogEvent)
}

/// A noteworthy event inside the broker, for the log.
public enum BrokerLogEvent: Sendable, Equatable {
    /// A client message without an envelope delimiter, or without a body, was dropped.
    case malformedClientMessage(frames: Int)
    /// A worker message that is not READY, HEARTBEAT or a reply was dropped.
    case malformedWorkerMessage(worker: [UInt8], frames: Int)
    /// A reply for a request the worker no longer holds (late after a timeout, or duplicated).
    case staleReply(worker: [UInt8])
    /// A worker registered.
    case workerReady(worker: [UInt8], heartbeating: Bool)
    /// A worker was removed: silent past its liveness, unreachable, or its process ended.
    case workerLost(worker: [UInt8], reason: String, hadRequest: Bool)
    /// A worker held a request past the request timeout: it was removed and its process must be ended.
    case workerHung(worker: [UInt8])
    /// A worker asked to drain holds no request any more (or was never known): it can be stopped.
    case workerDrained(worker: [UInt8])
}
