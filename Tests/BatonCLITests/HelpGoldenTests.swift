import Foundation
import Testing

@Suite("Golden --help of baton and every subcommand", .serialized, .timeLimit(.minutes(2)))
struct HelpGoldenTests {
    /// Every subcommand, in the order `baton --help` lists them.
    static let subcommands = ["serve", "status", "reload", "stop", "logs", "history", "generations", "workers", "sessions",
                              "call", "bench", "keygen"]

    /// Runs `baton` at a fixed width of 80 columns and returns its output, requiring exit status 0.
    func help(_ arguments: [String], in directory: String) throws -> String {
        let child = try Child(Harness.batonPath, arguments, name: "help-\(UUID().uuidString.prefix(8))",
                              directory: directory, environment: ["COLUMNS": "80"])
        #expect(child.wait(seconds: 30) == 0, "baton \(arguments.joined(separator: " "))")
        return child.output
    }

    /// Lines that end with a backslash: a multi-line string literal that escaped its line break by mistake.
    func strayBackslashes(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.hasSuffix("\\") }
    }

    @Test("baton --help, baton help, and both forms for each subcommand match help/*.txt byte for byte")
    func helpMatchesGolden() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for command in [nil] + Self.subcommands {
            let name = "help/\(command ?? "baton").txt"
            let flag = try help((command.map { [$0] } ?? []) + ["--help"], in: directory)
            let word = try help(["help"] + (command.map { [$0] } ?? []), in: directory)
            #expect(word == flag, "baton help \(command ?? "") and --help differ")
            #expect(flag.hasPrefix("OVERVIEW: "), "\(name): \(flag)")
            #expect(strayBackslashes(flag) == [], "\(name) has lines ending with a backslash")
            try expectGolden(name, flag)
        }
    }

    @Test("the list above is every subcommand baton lists, and every golden help file belongs to one")
    func everySubcommandCovered() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let overview = try help(["--help"], in: directory)
        let listing = (overview.components(separatedBy: "SUBCOMMANDS:\n").last ?? "")
            .components(separatedBy: "\n\n").first ?? ""
        let listed = listing.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
        #expect(listed == Self.subcommands)
        let files = try FileManager.default.contentsOfDirectory(atPath: goldenDirectory.appendingPathComponent("help").path)
        #expect(files.sorted() == (["baton"] + Self.subcommands).map { $0 + ".txt" }.sorted())
        for file in files {
            let text = try String(contentsOf: goldenDirectory.appendingPathComponent("help/" + file), encoding: .utf8)
            #expect(strayBackslashes(text) == [], "help/\(file) has lines ending with a backslash")
        }
    }
}
