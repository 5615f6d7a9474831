import Foundation

extension ControlMessageError {
    /// The longest piece of a peer's message a description repeats, in characters: a refusal and its log line
    /// stay short whatever the peer sent.
    static let quotedLength = 64

    /// `text`, cut to ``quotedLength`` characters with "…" if longer.
    static func shortened(_ text: String) -> String {
        text.count <= quotedLength ? text : text.prefix(quotedLength) + "…"
    }

    /// What a decoding error says about a field of an object, or nil for a frame that is not an object.
    init?(_ error: DecodingError) {
        let path: [any CodingKey], problem: String
        switch error {
        case .keyNotFound(let key, let context): (path, problem) = (context.codingPath + [key], "missing")
        case .valueNotFound(_, let context): (path, problem) = (context.codingPath, "null")
        case .typeMismatch(_, let context), .dataCorrupted(let context):
            (path, problem) = (context.codingPath, context.debugDescription)
        @unknown default: return nil
        }
        guard !path.isEmpty else { return nil }
        self = .invalidField(Self.shortened(path.map { $0.intValue.map(String.init) ?? $0.stringValue }
                                                .joined(separator: ".")),
                             problem: Self.shortened(problem))
    }
}
