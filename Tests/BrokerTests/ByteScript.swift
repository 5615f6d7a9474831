/// A fuzzer's input read as a script: small choices, 64-bit seeds and frames, zeros past the end.
///
/// The walk scripts (``SessionWalk/play(script:)``, ``SessionWalk/playFrames(script:)``) read their events
/// from one, so libFuzzer's mutations of the bytes become changes to the events (Fuzz/, docs/fuzzing.md).
struct ByteScript {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte has been read.
    var isAtEnd: Bool { index >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { index += 1 }
        return index < bytes.count ? bytes[index] : 0
    }

    /// A choice in `0..<count`.
    mutating func below(_ count: Int) -> Int { Int(byte()) % count }

    /// Eight bytes, little-endian.
    mutating func word() -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(byte()) << ($1 * 8) }
    }

    /// A frame: a length byte, then that many bytes. Most frames are short (below 24 bytes); a length byte of
    /// 240 or more makes a long one (64 + the next byte, or 320 + the next byte for 255).
    mutating func frame() -> [UInt8] {
        let head = Int(byte())
        let length = head < 240 ? head % 24 : (head == 255 ? 320 : 64) + Int(byte())
        let start = min(index, bytes.count)
        let end = min(index + length, bytes.count)
        index += length
        return Array(bytes[start..<end])
    }

    /// One to `limit` frames.
    mutating func frames(limit: Int) -> [[UInt8]] {
        (0...below(limit)).map { _ in frame() }
    }
}
