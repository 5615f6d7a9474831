/// An HTTP/1.1 answer of the metrics endpoint: status, content type, body; always `Connection: close`.
struct HTTPResponse: Sendable, Equatable {
    /// The status code.
    var status: Int
    /// The `Content-Type`.
    var contentType: String
    /// The body.
    var body: String

    /// A plain-text answer.
    static func text(_ body: String, status: Int) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: body)
    }

    /// The bytes on the wire: status line, headers, body.
    var encoded: [UInt8] {
        let reasons = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                       431: "Request Header Fields Too Large", 503: "Service Unavailable"]
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) \(reasons[status] ?? "Status")\r\n"
            + "Content-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + bytes
    }
}
