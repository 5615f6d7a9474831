/// A generation of the worker code: 1 for the code `serve` started with, then one more for each reload
/// (`generation.id`).
public struct GenerationID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The number, from 1.
    public let number: Int

    /// The generation numbered `number`.
    public init(_ number: Int) { self.number = number }

    /// The generation after this one.
    public var next: GenerationID { GenerationID(number + 1) }

    /// The number, in decimal.
    public var description: String { String(number) }

    public static func < (lhs: GenerationID, rhs: GenerationID) -> Bool { lhs.number < rhs.number }

    /// Decodes the bare number.
    public init(from decoder: any Decoder) throws { number = try decoder.singleValueContainer().decode(Int.self) }

    /// Encodes the bare number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(number)
    }
}
