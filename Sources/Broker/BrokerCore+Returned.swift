import BatonProtocol

extension BrokerCore {
    /// A worker said RETURN (`[0x07][token]…`, DEALER framing): it is leaving, gives back the requests it
    /// holds but did not start, and asks for no new ones (docs/protocol.md, 2.3).
    ///
    /// The worker is drained (no new requests; requests of the sessions it holds still go to it, as for a
    /// worker being replaced). Each returned request goes back to the front of the queue without counting as
    /// an attempt, and is recorded as requeued, as a request whose dispatch failed; a session request is
    /// answered `session-lost` instead, since the session's state is on the leaving worker. A token the worker
    /// does not hold (answered, lost, or never sent) is ignored, counted with ``BrokerStats/staleReplies`` and
    /// logged (rate limited) as a stale reply. The broker then answers `[0x07]`: the worker has every request
    /// that was sent to it before, and gets no new ones. A RETURN from a worker the broker does not know is
    /// ignored (nothing to take back).
    mutating func returned(from id: WorkerID, tokens: ArraySlice<[UInt8]>, now: Instant,
                           into out: inout [BrokerAction]) {
        guard let index = workers.index(forKey: id) else { return }
        workers.heard(at: index, now: now)
        var requeued: [PendingRequest] = []
        var sessionRequests: [PendingRequest] = []
        var stale = false
        for token in tokens {
            guard let requestID = RequestID(token: token),
                  var request = release(requestID, at: index)?.request
            else {
                stats.staleReplies += 1
                stale = true
                continue
            }
            request.attempts -= 1
            if request.session == nil { requeued.append(request) } else { sessionRequests.append(request) }
        }
        if stale { out.append(.log(.staleReply(worker: id))) }
        stats.requestsReturned += UInt64(requeued.count + sessionRequests.count)
        drainWorker(id, into: &out)
        for request in requeued.sorted(by: { $0.id > $1.id }) { requeue(request, now: now, into: &out) }
        requestsLost(sessionRequests, reason: "it left without starting the request", now: now, into: &out)
        out.append(.send(worker: id, frames: [WireProtocol.returnByte]))
        pump(now: now, into: &out)
    }
}
