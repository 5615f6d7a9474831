import Testing

@testable import BatonMetrics

@Suite("Parsing an HTTP/1.x request head from the bytes received so far")
struct HTTPRequestHeadTests {
    func parse(_ text: String, limit: Int = HTTPRequestHead.maxBytes) -> HTTPRequestHead.Parsed {
        HTTPRequestHead.parse(Array(text.utf8), limit: limit)
    }

    @Test("a probe's and a scrape's heads parse, with CRLF or lone LF line ends, and the query is not the path")
    func parsesHeads() throws {
        let probe = "GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:9750\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\n"
            + "Connection: close\r\n\r\n"
        guard case .complete(let head, let length) = parse(probe) else {
            Issue.record("\(parse(probe))")
            return
        }
        #expect(head == HTTPRequestHead(method: "GET", target: "/healthz", version: "HTTP/1.1", fieldCount: 4))
        #expect(length == probe.utf8.count)
        #expect(parse("GET /metrics?x=1 HTTP/1.0\n\n") == .complete(
            HTTPRequestHead(method: "GET", target: "/metrics?x=1", version: "HTTP/1.0"), length: 27))
        guard case .complete(let scrape, _) = parse("GET /metrics?x=1 HTTP/1.0\n\nextra") else { return }
        #expect(scrape.path == "/metrics")
        #expect(parse("HEAD / HTTP/1.1\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n") == .complete(
            HTTPRequestHead(method: "HEAD", target: "/", version: "HTTP/1.1", fieldCount: 2), length: 41))
    }

    @Test("every proper prefix of a valid head is incomplete")
    func prefixesAreIncomplete() {
        let long = String(repeating: "v", count: 300)
        let bytes = Array("GET /readyz HTTP/1.1\r\nHost: a\r\nX-Long: \(long)\r\n\r\n".utf8)
        for end in 0..<bytes.count {
            #expect(HTTPRequestHead.parse(Array(bytes[..<end])) == .incomplete, "\(end)")
        }
    }

    @Test("a malformed request line or field is refused as soon as the offending byte arrives", arguments: [
        ("\r\n", "the request line is not METHOD TARGET VERSION"),
        (" GET", "the request line is not METHOD TARGET VERSION"),
        ("GET  /", "the request line is not METHOD TARGET VERSION"),
        ("G(T", "the method is not a token"),
        ("\u{16}\u{03}\u{01}", "the method is not a token"),
        ("GET metrics", "the target does not start with /"),
        ("GET /a\u{7F}", "a control or non-ASCII character in the target"),
        ("GET / HTTP/2", "not HTTP/1.0 or HTTP/1.1"),
        ("GET / HTTP/1.1 x", "the request line is not METHOD TARGET VERSION"),
        ("GET / HTTP/1.\r\n", "not HTTP/1.0 or HTTP/1.1"),
        ("GET /\r\n", "the request line is not METHOD TARGET VERSION"),
        ("GET / HTTP/1.1\rx", "a CR inside the request line"),
        ("GET / HTTP/1.1\r\n folded", "a folded header line"),
        ("GET / HTTP/1.1\r\nHost : a", "a header name that is not a token"),
        ("GET / HTTP/1.1\r\n: a", "an empty header name"),
        ("GET / HTTP/1.1\r\nHost\r\n", "a header line without a colon"),
        ("GET / HTTP/1.1\r\nX: a\u{01}", "a control character in a header value"),
        ("GET / HTTP/1.1\r\nX: a\r\r\n", "a control character in a header value"),
    ])
    func refusesMalformed(text: String, reason: String) {
        #expect(parse(text) == .malformed(reason))
        #expect(parse(text + "\r\n\r\n") == .malformed(reason), "more bytes do not change the verdict")
    }

    @Test("a head that does not end within the limit is too large, whatever follows")
    func tooLarge() {
        let head = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 100)
        #expect(parse(head, limit: 64) == .tooLarge)
        #expect(parse(head + "\r\n\r\n", limit: 64) == .tooLarge)
        #expect(parse("GET / HTTP/1.1\r\n\r\n", limit: 18) == .complete(
            HTTPRequestHead(method: "GET", target: "/", version: "HTTP/1.1"), length: 18))
        #expect(parse("GET / HTTP/1.1\r\n\r\n", limit: 17) == .tooLarge)
        #expect(parse("", limit: 0) == .tooLarge)
    }

    /// Random inputs, biased towards HTTP's own characters, checked against the guarantees in the type's
    /// description: no crash; once a verdict is given for some bytes, every extension gets the same one; a
    /// complete head's length is where its empty line ends, and the head re-encoded parses the same.
    @Test("random inputs: a verdict, once reached, never changes as bytes are added (seeded fuzzing)")
    func fuzz() {
        var random = SeededRandom(seed: 0xBA70)
        let alphabet = Array("GET /metrics HTTP/1.1\r\n\r\nHost: a\t:\u{0}\u{7F}\u{FF}?x=1 HEAD POST HTTP/1.0 ".utf8)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<120, using: &random)
            var bytes: [UInt8] = Int.random(in: 0..<2, using: &random) == 0 ? Array("GET / HTTP/1.1\r\n".utf8) : []
            for _ in 0..<length {
                bytes.append(Int.random(in: 0..<8, using: &random) == 0 ? UInt8.random(in: 0...255, using: &random)
                                 : alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
            }
            let limit = Int.random(in: 0..<2, using: &random) == 0 ? 64 : HTTPRequestHead.maxBytes
            var verdict = HTTPRequestHead.Parsed.incomplete
            for end in 0...bytes.count {
                let parsed = HTTPRequestHead.parse(Array(bytes[..<end]), limit: limit)
                if verdict != .incomplete {
                    #expect(parsed == verdict, "\(bytes[..<end]) after \(verdict)")
                }
                verdict = parsed
            }
            if case .complete(let head, let length) = verdict {
                #expect(length <= limit && bytes[length - 1] == UInt8(ascii: "\n"))
                let fields = String(repeating: "X: y\r\n", count: head.fieldCount)
                let again = Array("\(head.method) \(head.target) \(head.version)\r\n\(fields)\r\n".utf8)
                #expect(HTTPRequestHead.parse(again) == .complete(head, length: again.count))
            }
        }
    }
}

/// SplitMix64: a fixed sequence for a seed, so a failing input can be found again.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
