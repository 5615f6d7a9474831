/// The metrics server's open connections and its policy for them, with no I/O and the clock passed in (times
/// are ``BatonClock/monotonic()`` nanoseconds): at most ``capacity`` connections; a request head must arrive
/// within ``headDeadline`` of the accept, and the answer must be taken within ``answerDeadline`` of the head;
/// when the table is full, a new connection takes the place of the one that has waited longest for its head
/// (or, if every connection is being answered, the oldest), so slow clients can delay a probe by at most one
/// turn of the server's loop, never lock it out.
struct HTTPConnectionTable {
    /// One client connection: what it sent of its head, and the answer being written.
    struct Connection: Equatable {
        /// When it was accepted.
        let acceptedAt: UInt64
        /// When it is closed if still open.
        var deadline: UInt64
        /// The request head received so far.
        var head: [UInt8] = []
        /// The encoded answer, once the head is complete (or found bad).
        var output: [UInt8] = []
        /// How much of ``output`` was written.
        var sent = 0
        /// The answer's status code (0 until there is an answer).
        var status = 0

        /// Whether it still waits for its request head.
        var isReadingHead: Bool { output.isEmpty }

        /// Sets the answer, once the head ended (or was found bad) at `now`; it must be taken within
        /// ``HTTPConnectionTable/answerDeadline``.
        mutating func answer(with response: HTTPResponse, now: UInt64) {
            output = response.encoded
            status = response.status
            sent = 0
            deadline = now &+ HTTPConnectionTable.answerDeadline
        }
    }

    /// The default bound on open connections: well within the descriptors `serve` keeps free of clients
    /// (`DescriptorUsage.reserve`), so neither can starve the other.
    static let defaultCapacity = 32
    /// Time from the accept to the end of the request head (a probe or a scrape sends it at once).
    static let headDeadline: UInt64 = 2_000_000_000
    /// Time from the end of the head to the answer's last byte taken by the client.
    static let answerDeadline: UInt64 = 5_000_000_000

    /// While the table is full, the least time between two accept turns: a new connection waits in the
    /// kernel's queue meanwhile, where a probe's head arrives before the accept, so it is answered at once
    /// instead of taking (and losing) a place among clients that send nothing.
    static let fullAcceptInterval: UInt64 = 50_000_000

    /// The bound on open connections.
    let capacity: Int
    /// The open connections by descriptor.
    private(set) var connections: [Int32: Connection] = [:]

    /// An empty table for at most `capacity` connections.
    init(capacity: Int = defaultCapacity) {
        self.capacity = max(capacity, 1)
    }

    /// Whether a new connection needs another to be evicted first.
    var isFull: Bool { connections.count >= capacity }

    /// The connection to close to make room for a new one: the oldest still reading its head, else the oldest.
    func evictionVictim() -> Int32? {
        connections.min { Self.evictionOrder($0) < Self.evictionOrder($1) }?.key
    }

    /// Connections reading their head before those being answered; older first; the descriptor breaks ties.
    private static func evictionOrder(_ entry: (key: Int32, value: Connection)) -> (Int, UInt64, Int32) {
        (entry.value.isReadingHead ? 0 : 1, entry.value.acceptedAt, entry.key)
    }

    /// The earliest time of the next accept turn after one at `lastTurn`: at once while there is room, else
    /// ``fullAcceptInterval`` after it.
    func earliestAccept(lastTurn: UInt64) -> UInt64 {
        isFull ? lastTurn &+ Self.fullAcceptInterval : 0
    }

    /// Adds a connection accepted at `now` (make room first: see ``evictionVictim()``).
    mutating func admit(_ fd: Int32, now: UInt64) {
        connections[fd] = Connection(acceptedAt: now, deadline: now &+ Self.headDeadline)
    }

    /// The connection on `fd`, if open.
    subscript(fd: Int32) -> Connection? {
        get { connections[fd] }
        set { connections[fd] = newValue }
    }

    /// Removes a connection; returns it if it was open.
    @discardableResult
    mutating func remove(_ fd: Int32) -> Connection? {
        connections.removeValue(forKey: fd)
    }

    /// Removes and returns the connections whose deadline has passed at `now`.
    mutating func removeExpired(now: UInt64) -> [Int32] {
        let expired = connections.filter { $0.value.deadline <= now }.map(\.key).sorted()
        for fd in expired { connections[fd] = nil }
        return expired
    }
}
