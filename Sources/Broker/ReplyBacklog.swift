import BatonProtocol
import DequeModule

/// A reply its client's pipe had no room for when it was sent: it waits in the ``ReplyBacklog``.
struct WaitingReply {
    /// The client's envelope, its routing id first (copied out of the request, which is gone).
    let envelope: [[UInt8]]
    /// The reply's frames after the delimiter.
    let body: ArraySlice<[UInt8]>
    /// The broker's id of the request it answers, to record a drop.
    let request: RequestID
}

/// Replies waiting for room in their client's pipe, by client (docs/protocol.md, "Flow control").
///
/// The frontend's pipe to a client holds `--max-unread-replies` messages. A burst the broker makes itself (a
/// shutdown answering a full queue, a lost worker answering the requests held behind a session) can outrun
/// libzmq's I/O thread even when the client reads at once; such replies wait here and go out as the pipe drains,
/// in order. Only a client whose replies wait and none of them goes out for ``deadline`` is treated as not
/// reading: its waiting replies are dropped, and from then on a reply that finds its pipe full is dropped at
/// once, until one fits again. The broker counts waiting replies against `--max-queued` (``bound``), with the
/// requests queued, held and in flight, before it reads another request: so at most ``bound`` replies wait,
/// plus the answers to requests that were in flight when the first one started waiting (the workers' capacity).
struct ReplyBacklog {
    /// One client's waiting replies.
    struct Client {
        /// Replies in the order they were sent.
        var replies: Deque<WaitingReply> = []
        /// When a reply last went out, or the first one started waiting, or (not reading) one was last dropped.
        var lastActivity: Instant
        /// Treated as not reading: a reply that finds the pipe full is dropped at once.
        var notReading = false
    }

    /// Clients with waiting replies, and clients treated as not reading.
    private(set) var clients: [ClientID: Client] = [:]
    /// Replies waiting, over all clients.
    private(set) var count = 0
    /// `--max-queued`: the broker reads no request while waiting replies and requests reach it.
    let bound: Int
    /// How long a client's replies may wait with none of them going out before it counts as not reading.
    let deadline: TimeSpan

    init(bound: Int, deadline: TimeSpan) {
        self.bound = max(bound, 1)
        self.deadline = deadline
    }

    /// Whether no client has an entry (the common case: then nothing here is looked at per reply).
    var isEmpty: Bool { clients.isEmpty }

    /// Whether replies to `client` are waiting (a new one must wait behind them, to keep their order).
    func hasWaiting(_ client: ClientID) -> Bool {
        clients[client].map { !$0.replies.isEmpty } ?? false
    }

    /// Queues a reply that found its client's pipe full; `false` if it must be dropped instead (the client is
    /// not reading).
    mutating func append(_ reply: WaitingReply, for client: ClientID, now: Instant) -> Bool {
        if let index = clients.index(forKey: client), clients.values[index].notReading {
            clients.values[index].lastActivity = now
            return false
        }
        clients[client, default: Client(lastActivity: now)].replies.append(reply)
        count += 1
        return true
    }

    /// A reply reached `client` directly: a client treated as not reading is reading again.
    mutating func delivered(to client: ClientID) {
        if let index = clients.index(forKey: client), clients.values[index].replies.isEmpty {
            clients.remove(at: index)
        }
    }

    /// Sends waiting replies, each client's in order, until its pipe is full again. `send` answers whether a
    /// reply went out; `dropped` gets those that cannot go out (their client is gone, or it did not read for
    /// ``deadline``). Returns how many went out. Forgets clients not reading that got no reply for
    /// ``deadline``.
    mutating func flush(now: Instant, send: (WaitingReply) throws -> ClientRoute,
                        dropped: (WaitingReply, ClientRoute) -> Void) rethrows -> Int {
        var sent = 0
        var forget: [ClientID] = []
        var index = clients.values.startIndex
        while index != clients.values.endIndex {
            defer { clients.values.formIndex(after: &index) }
            var route = ClientRoute.sent
            while let reply = clients.values[index].replies.first {
                route = try send(reply)
                guard route == .sent else { break }
                clients.values[index].replies.removeFirst()
                clients.values[index].lastActivity = now
                count -= 1
                sent += 1
            }
            let client = clients.values[index]
            if route == .gone || (route == .full && now.since(client.lastActivity) >= deadline) {
                // Gone, or no reply went out for the deadline: the client is not reading.
                while let reply = clients.values[index].replies.popFirst() {
                    count -= 1
                    dropped(reply, route)
                }
                clients.values[index].notReading = true
                clients.values[index].lastActivity = now
                if route == .gone { forget.append(clients.keys[index]) }
            } else if client.replies.isEmpty && (!client.notReading || now.since(client.lastActivity) >= deadline) {
                forget.append(clients.keys[index])
            }
        }
        for client in forget { clients[client] = nil }
        return sent
    }

    /// Drops every waiting reply (a shutdown's deadline passed).
    mutating func dropAll(_ dropped: (WaitingReply) -> Void) {
        for client in clients.values {
            for reply in client.replies { dropped(reply) }
        }
        clients.removeAll()
        count = 0
    }
}
