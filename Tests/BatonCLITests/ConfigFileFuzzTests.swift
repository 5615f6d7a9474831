import Foundation
import Testing
@testable import BatonCLI

/// A seeded, structure-aware fuzzer for the config file (the `baton` executable cannot be linked into the
/// libFuzzer targets; docs/fuzzing.md): random lines from serve's keys, hostile values, quotes, escapes,
/// comments and junk. Every text is either read or refused with a message naming the file and line.
@Suite("The config file reader under random input")
struct ConfigFileFuzzTests {
    /// SplitMix64, so a failure names a seed that replays it.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let keys = ["frontend", "backend", "workers", "request-timeout", "history", "metrics", "curve-key",
                       "max-clients", "command", "config", "retention", "log-level", "no-such-key", "", "wörkers",
                       "a b", "--workers", "max_clients"]
    static let values = ["tcp://0.0.0.0:5555", "8", "0", "-1", "99999999999999999999", "true", "false", "", "=",
                         "\"big arena\"", "'single'", "\"unterminated", "back\\slash", "trailing\\", "#x",
                         "ipc:///tmp/x", "5s", "1.5", "\u{0}", "é", "\t", "a=b=c", "7d,1GiB"]
    static let pieces = ["\\", "\"", "'", " ", "\t", "=", "#", "a", "é", "\u{0}", "\r", "x y"]

    static func line(_ rng: inout Generator) -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return "# " + values.randomElement(using: &rng)!
        case 1: return ""
        case 2: return (0..<Int.random(in: 1...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
        default:
            let spaces = [" ", "", "\t", "  "]
            return spaces.randomElement(using: &rng)! + keys.randomElement(using: &rng)! + spaces.randomElement(using: &rng)!
                + "=" + spaces.randomElement(using: &rng)! + values.randomElement(using: &rng)!
                + (Bool.random(using: &rng) ? "" : " " + values.randomElement(using: &rng)!)
        }
    }

    @Test("every random config text is read, or refused naming its file and line", arguments: [1, 2, 3] as [UInt64])
    func randomTexts(seed: UInt64) throws {
        var rng = Generator(state: seed)
        var read = 0
        var refused = 0
        for round in 0..<200 {
            let lines = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Self.line(&rng) }
            let text = lines.joined(separator: Bool.random(using: &rng) ? "\n" : "\r\n")
            do {
                let file = try ConfigFile(text: text, path: "fuzz.conf")
                read += 1
                for flag in file.flags {
                    #expect(flag.hasPrefix("--"), "seed \(seed) round \(round): flag \(flag) from \(text.debugDescription)")
                    #expect(throws: Never.self, "seed \(seed) round \(round): serve takes \(flag)") {
                        try ConfigFile.check(flag, path: "x", line: 1)
                    }
                }
            } catch let failure as InputFailure {
                refused += 1
                #expect(failure.description.hasPrefix("fuzz.conf:"),
                        "seed \(seed) round \(round): \(failure.description) for \(text.debugDescription)")
                let number = failure.description.dropFirst("fuzz.conf:".count).prefix { $0.isNumber }
                let line = Int(number) ?? 0
                let count = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
                #expect((1...max(count, 1)).contains(line),
                        "seed \(seed) round \(round): line \(line) of \(count) in \(failure.description)")
            }
        }
        #expect(read > 10 && refused > 10, "seed \(seed): both outcomes were reached (\(read) read, \(refused) refused)")
    }

    @Test("a quoted command line splits back into its words", arguments: [1, 2, 3] as [UInt64])
    func splitRoundTrip(seed: UInt64) throws {
        var rng = Generator(state: seed)
        for round in 0..<500 {
            let words = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                (0..<Int.random(in: 0...6, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            }
            // Single quotes keep everything but a single quote, which is written '\'' as a shell does.
            let line = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            let split = try ConfigFile.split(line, at: "x")
            #expect(split == words, "seed \(seed) round \(round): \(line.debugDescription)")
        }
    }

    /// What a config file says does not depend on its line endings (a file edited on Windows has CRLF).
    @Test("a config file with CRLF line endings reads as with LF", arguments: [1, 2, 3] as [UInt64])
    func lineEndings(seed: UInt64) {
        var rng = Generator(state: seed)
        func outcome(_ text: String) -> String {
            do {
                let file = try ConfigFile(text: text, path: "fuzz.conf")
                return "flags \(file.flags) command \(file.command)"
            } catch {
                return "refused: \(error)"
            }
        }
        for round in 0..<150 {
            let lines = (0..<Int.random(in: 1...5, using: &rng)).map { _ in Self.line(&rng) }
                .map { $0.replacingOccurrences(of: "\r", with: "") }
            let lf = outcome(lines.joined(separator: "\n"))
            #expect(outcome(lines.joined(separator: "\r\n")) == lf, "seed \(seed) round \(round): \(lines)")
        }
        let file = try? ConfigFile(text: "command = /bin/w --x\r\nworkers = 2\r\n", path: "crlf.conf")
        #expect(file?.command == ["/bin/w", "--x"] && file?.flags == ["--workers=2"])
    }
}
