import BatonProtocol
import Logging
import ZeroMQ

extension BrokerLoop {
    /// First wait before retrying replies whose pipes were full, when nothing went out (doubles up to
    /// ``replyRetryMax``; back to polling for room at once when something went out). The frontend reports room
    /// when any client's pipe has some, so polling for it alone could spin while one client's pipe stays full.
    static let replyRetryMin = TimeSpan.milliseconds(1)
    /// Longest wait between retries of waiting replies.
    static let replyRetryMax = TimeSpan.milliseconds(16)

    /// Whether the frontend should be read: the core's bound, and while replies wait for their clients, those
    /// with the requests queued, held and in flight below `--max-queued` (each answers a request the broker
    /// read), so that waiting replies never pass it by more than the answers to requests in flight.
    var acceptsRequests: Bool {
        core.acceptsRequests
            && (replies.count == 0 || core.stats.queueDepth + core.inFlightCount + replies.count < replies.bound)
    }

    /// Whether the next poll should ask the frontend for room to send.
    func wantsRoom(now: Instant) -> Bool {
        replies.count > 0 && now >= replyRetryAt
    }

    /// Sends a reply, or queues it behind the client's waiting replies or when the pipe is full; drops it only
    /// when the client is gone or is not reading.
    mutating func deliver(_ frontend: Socket, envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>,
                          request: RequestID) throws {
        guard let routingID = envelope.first else {
            return replyDropped(request: request, client: ClientID(routingID: []), .gone)
        }
        let client = ClientID(routingID: routingID)
        if !replies.isEmpty && replies.hasWaiting(client) {
            return wait(envelope: envelope, body: body, request: request, client: client)
        }
        switch try Self.sendToClient(frontend, envelope: envelope, body: body) {
        case .sent:
            if !replies.isEmpty { replies.delivered(to: client) }
        case .gone:
            replyDropped(request: request, client: client, .gone)
        case .full:
            wait(envelope: envelope, body: body, request: request, client: client)
        }
    }

    /// Sends waiting replies while their pipes take them; drops those of clients gone or not reading.
    mutating func flushReplies(_ frontend: Socket, now: Instant) throws {
        var drops: [(RequestID, ClientID, ClientRoute)] = []
        let sent = try replies.flush(now: now, send: { reply in
            try Self.sendToClient(frontend, envelope: reply.envelope[...], body: reply.body)
        }, dropped: { reply, route in
            drops.append((reply.request, ClientID(routingID: reply.envelope.first ?? []), route))
        })
        for (request, client, route) in drops { replyDropped(request: request, client: client, route) }
        if let (_, client, route) = drops.last, route == .full { notReadingLogged(client: client, dropped: drops.count) }
        if sent > 0 || replies.count == 0 {
            replyRetryDelay = .zero
            replyRetryAt = .zero
        } else {
            replyRetryDelay = min(max(replyRetryDelay * 2, Self.replyRetryMin), Self.replyRetryMax)
            replyRetryAt = now + replyRetryDelay
        }
        replyCheckAt = replies.isEmpty ? .zero : now + Self.replyCheckInterval
    }

    /// How often waiting replies are looked at even when the frontend reports no room (for the not-reading
    /// deadline, and to forget clients marked not reading).
    static let replyCheckInterval = TimeSpan.milliseconds(100)

    /// The shutdown's deadline passed with replies still waiting: they are dropped.
    mutating func dropWaitingReplies() {
        var drops: [(RequestID, ClientID)] = []
        replies.dropAll { drops.append(($0.request, ClientID(routingID: $0.envelope.first ?? []))) }
        for (request, client) in drops { replyDropped(request: request, client: client, .full) }
        if let (_, client) = drops.last {
            logger.warning("shutdown drain timed out; replies still waiting for their clients were dropped",
                           metadata: ["dropped": "\(drops.count)", "client": "\(client)"])
        }
    }

    private mutating func wait(envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>, request: RequestID,
                               client: ClientID) {
        let now = Instant.now()
        let reply = WaitingReply(envelope: Array(envelope), body: body, request: request)
        if replies.append(reply, for: client, now: now) {
            if replyCheckAt == .zero { replyCheckAt = now + Self.replyCheckInterval }
        } else {
            replyDropped(request: request, client: client, .full)
            notReadingLogged(client: client, dropped: 1)
        }
    }

    /// Counts and records a reply that did not reach its client: gone (`unroutableReplies`) or not reading
    /// (`unreadRepliesDropped`). History records the request as `failed` with `reply-dropped`.
    private mutating func replyDropped(request: RequestID, client: ClientID, _ route: ClientRoute) {
        if route == .gone { core.replyUndeliverable() } else { core.unreadReplyDropped() }
        if core.configuration.recordHistory {
            history.append(.requestReplyDropped(id: request, at: Instant.now()))
        }
    }

    /// Logs (rate limited) replies dropped because their client is not reading.
    private mutating func notReadingLogged(client: ClientID, dropped: Int) {
        let (allowed, suppressed) = logLimiter.allow(now: Instant.now())
        if suppressed > 0 { logger.warning("\(suppressed) similar messages were not logged") }
        guard allowed else { return }
        logger.warning("dropped replies: the client has not read its replies", metadata: [
            "client": "\(client)", "dropped": "\(dropped)",
            "max_unread_replies": "\(server.options.security.maxUnreadReplies)",
            "deadline_ms": "\(replies.deadline.milliseconds)",
        ])
    }
}
