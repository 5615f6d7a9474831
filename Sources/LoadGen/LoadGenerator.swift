import BatonProtocol
import Histogram
import ZeroMQ

/// A closed-loop load generator that checks every reply.
///
/// Each client is a DEALER socket with ``LoadOptions/window`` requests in flight. A request is
/// `[tag][""][body]`: the 16-byte tag (client, slot, sequence number) rides in the envelope, so even an error
/// reply is matched to its request; the body starts with the same 16 bytes followed by a pattern derived
/// from them, and an echo worker's reply must equal it exactly. Everything runs on the calling thread.
public struct LoadGenerator {
    /// The load to generate.
    public let options: LoadOptions

    /// Creates a generator.
    public init(options: LoadOptions) {
        self.options = options
    }

    private struct Slot {
        var seq: UInt64 = 0
        var sentAt: UInt64 = 0
        var busy = false
    }

    /// Runs the load to completion and reports. Throws only when ZeroMQ fails.
    public func run() throws -> LoadReport {
        let context = try Context()
        defer { context.terminate() }
        var sockets: [Socket] = []
        defer { for socket in sockets { socket.close() } }
        var poller = Poller()
        for _ in 0..<options.clients {
            let socket = try Socket(context, .dealer)
            socket.linger = 0
            try socket.setSendHighWaterMark(0)
            try socket.setReceiveHighWaterMark(0)
            if let curve = options.curve { try socket.useCurveClient(curve) }
            try socket.connect(options.endpoint)
            poller.add(socket)
            sockets.append(socket)
        }
        let size = Swift.max(options.size, 16)
        var slots = Array(repeating: Array(repeating: Slot(), count: options.window), count: options.clients)
        var nextSeq = Array(repeating: UInt64(0), count: options.clients)
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var report = LoadReport()
        var outstanding = 0
        var measured: UInt64 = 0

        let start = BatonClock.monotonic()
        let warmEnd = start + UInt64(options.warmup * 1e9)
        let sendEnd = warmEnd + UInt64(options.duration * 1e9)
        var sending = true
        var drainDeadline: UInt64 = .max
        var lastMeasuredReply = warmEnd

        /// `["BATON-SESSION"][key]` with one key per client and window slot (one request in flight per key),
        /// or nothing.
        func sessionFrames(client: Int, slot: Int) -> [[UInt8]] {
            options.sessions ? [WireProtocol.sessionMarker, Array("c\(client)-s\(slot)".utf8)] : []
        }

        func send(client: Int, slot: Int) throws {
            let seq = nextSeq[client]
            nextSeq[client] += 1
            let tag = Self.tag(client: client, slot: slot, seq: seq)
            slots[client][slot] = Slot(seq: seq, sentAt: BatonClock.monotonic(), busy: true)
            try sockets[client].send(frames: [tag, []] + sessionFrames(client: client, slot: slot)
                                     + [Self.body(tag: tag, size: size)])
            report.sent += 1
            outstanding += 1
        }

        for client in 0..<options.clients {
            for slot in 0..<options.window {
                if let total = options.total, report.sent >= UInt64(total) { break }
                try send(client: client, slot: slot)
            }
        }
        var frames: [[UInt8]] = []
        while true {
            let now = BatonClock.monotonic()
            if sending {
                let done = options.total.map { report.sent >= UInt64($0) } ?? (now >= sendEnd)
                if done {
                    sending = false
                    drainDeadline = now + UInt64(options.drainTimeout * 1e9)
                }
            }
            if !sending && (outstanding == 0 || now >= drainDeadline) { break }
            let wait = sending && options.total == nil ? (sendEnd > now ? sendEnd - now : 0) : drainDeadline - now
            try poller.poll(timeoutMilliseconds: Int(Swift.min(wait / 1_000_000 + 1, 100)))
            for client in 0..<options.clients where poller.isReady(client) {
                while try sockets[client].receive(into: &frames, dontWait: true) {
                    let received = BatonClock.monotonic()
                    guard frames.count >= 3, frames[1].isEmpty,
                          let (tagClient, slot, seq) = Self.parse(tag: frames[0]),
                          tagClient == client, slot < options.window,
                          slots[client][slot].busy, slots[client][slot].seq == seq
                    else {
                        report.mismatched += 1
                        continue
                    }
                    let sentAt = slots[client][slot].sentAt
                    slots[client][slot].busy = false
                    outstanding -= 1
                    if frames[2] == WireProtocol.errorMarker {
                        let code = frames.count > 3 ? Message.render(frames[3]) : "?"
                        report.errors[code, default: 0] += 1
                    } else if frames.count == 3 + (options.sessions ? 2 : 0),
                              frames.dropFirst(2).dropLast().elementsEqual(sessionFrames(client: client, slot: slot)),
                              frames.last == Self.body(tag: frames[0], size: size)
                    {
                        report.matched += 1
                        if sentAt >= warmEnd {
                            measured += 1
                            lastMeasuredReply = received
                            _ = histogram.record((received - sentAt) / 1000)
                        }
                    } else {
                        report.mismatched += 1
                    }
                    if sending && options.total.map({ report.sent < UInt64($0) }) ?? (received < sendEnd) {
                        try send(client: client, slot: slot)
                    }
                }
            }
        }
        report.lost = UInt64(outstanding)
        let measuredEnd = options.total == nil ? Swift.min(sendEnd, lastMeasuredReply) : lastMeasuredReply
        report.seconds = Double(measuredEnd > warmEnd ? measuredEnd - warmEnd : 0) / 1e9
        report.throughput = report.seconds > 0 ? Double(measured) / report.seconds : 0
        if histogram.totalCount > 0 {
            report.p50 = histogram.valueAtPercentile(50)
            report.p99 = histogram.valueAtPercentile(99)
            report.p999 = histogram.valueAtPercentile(99.9)
            report.max = histogram.max
        }
        return report
    }

    static func tag(client: Int, slot: Int, seq: UInt64) -> [UInt8] {
        var tag = [UInt8]()
        tag.reserveCapacity(16)
        withUnsafeBytes(of: UInt32(client).littleEndian) { tag.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(slot).littleEndian) { tag.append(contentsOf: $0) }
        withUnsafeBytes(of: seq.littleEndian) { tag.append(contentsOf: $0) }
        return tag
    }

    static func parse(tag: [UInt8]) -> (client: Int, slot: Int, seq: UInt64)? {
        guard tag.count == 16 else { return nil }
        func value(_ range: Range<Int>) -> UInt64 {
            range.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(tag[$1]) }
        }
        return (Int(value(0..<4)), Int(value(4..<8)), value(8..<16))
    }

    /// The request body for a tag: the tag, then a pattern derived from it, `size` bytes in all.
    static func body(tag: [UInt8], size: Int) -> [UInt8] {
        var body = tag
        body.reserveCapacity(size)
        let seed = tag.reduce(UInt8(0)) { $0 &* 31 &+ $1 }
        for index in tag.count..<size { body.append(seed &+ UInt8(truncatingIfNeeded: index &* 7)) }
        return body
    }
}
