/// The head of an HTTP/1.x request (request line and header fields), parsed from the bytes received so far
/// by a pure function, ``parse(_:limit:)``: no I/O, no state, safe to fuzz.
///
/// The grammar is RFC 9112's, strictly: `METHOD SP TARGET SP HTTP/1.0|HTTP/1.1`, then `name: value` lines,
/// then an empty line. Lines end with CRLF or a lone LF (RFC 9112 §2.2 lets a recipient accept LF); a CR
/// anywhere else, a control character, a folded line, whitespace before a colon or a target that does not
/// start with `/` make the head malformed. A malformed line is reported as soon as it is seen, before the
/// head ends, and only the first `limit` bytes are looked at, so once ``parse(_:limit:)`` says anything but
/// ``Parsed/incomplete`` for some bytes, it says the same for every longer input that starts with them.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method, a token: `GET`, `POST`, ….
    public var method: String
    /// The request target as sent: `/metrics?x=1`.
    public var target: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// The number of header field lines.
    public var fieldCount: Int

    /// The largest head Baton reads (request line, fields and the empty line); larger is refused with 431.
    public static let maxBytes = 8 << 10

    /// The target without its query: `/metrics`.
    public var path: Substring { target.prefix { $0 != "?" } }

    /// What the bytes received so far amount to.
    public enum Parsed: Sendable, Equatable {
        /// A valid head that has not ended yet: more bytes are needed.
        case incomplete
        /// A whole valid head, `length` bytes long (the empty line included).
        case complete(HTTPRequestHead, length: Int)
        /// Not HTTP/1.x: the reason, for a 400 answer.
        case malformed(String)
        /// No end within `limit` bytes (431).
        case tooLarge
    }

    /// Creates a head.
    public init(method: String, target: String, version: String, fieldCount: Int = 0) {
        self.method = method
        self.target = target
        self.version = version
        self.fieldCount = fieldCount
    }

    /// Parses the bytes received so far (see the type's description for the grammar and its guarantees).
    public static func parse(_ bytes: [UInt8], limit: Int = maxBytes) -> Parsed {
        let end = min(bytes.count, max(limit, 0))
        var lineStart = 0
        var requestLine: HTTPRequestHead?
        var fields = 0
        var index = 0
        while index < end {
            guard bytes[index] == lf else {
                index += 1
                continue
            }
            let content = lineStart..<(index > lineStart && bytes[index - 1] == cr ? index - 1 : index)
            if let head = requestLine {
                if content.isEmpty {
                    return .complete(HTTPRequestHead(method: head.method, target: head.target, version: head.version,
                                                     fieldCount: fields), length: index + 1)
                }
                if let problem = fieldProblem(bytes[content], complete: true) { return .malformed(problem) }
                fields += 1
            } else {
                switch parseRequestLine(bytes[content]) {
                case .success(let head): requestLine = head
                case .failure(let problem): return .malformed(problem.reason)
                }
            }
            index += 1
            lineStart = index
        }
        let partial = bytes[lineStart..<end]
        let problem = requestLine == nil ? requestLinePrefixProblem(partial, complete: false)
            : fieldProblem(partial, complete: false)
        if let problem { return .malformed(problem) }
        return bytes.count >= limit ? .tooLarge : .incomplete
    }
}

extension HTTPRequestHead {
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let colon = UInt8(ascii: ":")
    private static let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)

    private struct Problem: Error {
        let reason: String
    }

    /// RFC 9110 `tchar`: what a method or a field name is made of.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            tokenSymbols.contains(byte)
        }
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<HTTPRequestHead, Problem> {
        if let problem = requestLinePrefixProblem(line, complete: true) { return .failure(Problem(reason: problem)) }
        let parts = line.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return .failure(Problem(reason: "the request line is not METHOD TARGET VERSION"))
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .failure(Problem(reason: "not HTTP/1.0 or HTTP/1.1"))
        }
        return .success(HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self),
                                        target: String(decoding: parts[1], as: UTF8.self), version: version))
    }

    /// What is wrong with the start of a request line: the first offending byte decides, so that later bytes
    /// cannot change the verdict.
    private static func requestLinePrefixProblem(_ line: ArraySlice<UInt8>, complete: Bool) -> String? {
        let notThreeParts = "the request line is not METHOD TARGET VERSION"
        let versionPrefix = Array("HTTP/1.".utf8)
        var body = line
        if !complete && body.last == cr { body = body.dropLast() }
        var part = 0
        var partStart = body.startIndex
        for index in body.indices {
            let byte = body[index]
            if byte == cr { return "a CR inside the request line" }
            if byte == space {
                if index == partStart || part == 2 { return notThreeParts }
                part += 1
                partStart = index + 1
                continue
            }
            let offset = index - partStart
            switch part {
            case 0 where !isTokenCharacter(byte): return "the method is not a token"
            case 1 where offset == 0 && byte != UInt8(ascii: "/"): return "the target does not start with /"
            case 1 where byte < space || byte >= 0x7F: return "a control or non-ASCII character in the target"
            case 2 where offset < versionPrefix.count && byte != versionPrefix[offset]:
                return "not HTTP/1.0 or HTTP/1.1"
            case 2 where offset == versionPrefix.count && byte != UInt8(ascii: "0") && byte != UInt8(ascii: "1"):
                return "not HTTP/1.0 or HTTP/1.1"
            case 2 where offset > versionPrefix.count: return "not HTTP/1.0 or HTTP/1.1"
            default: continue
            }
        }
        return nil
    }

    /// What is wrong with a field line (or the start of one, when `complete` is false).
    private static func fieldProblem(_ line: ArraySlice<UInt8>, complete: Bool) -> String? {
        var body = line
        if !complete && body.last == cr { body = body.dropLast() }
        guard let first = body.first else { return nil }
        if first == space || first == tab { return "a folded header line" }
        let colonIndex = body.firstIndex(of: colon)
        for byte in body[..<(colonIndex ?? body.endIndex)] where !isTokenCharacter(byte) {
            return "a header name that is not a token"
        }
        if let colonIndex {
            if colonIndex == body.startIndex { return "an empty header name" }
            for byte in body[(colonIndex + 1)...] where (byte < space && byte != tab) || byte == 0x7F {
                return "a control character in a header value"
            }
        } else if complete {
            return "a header line without a colon"
        }
        return nil
    }
}
