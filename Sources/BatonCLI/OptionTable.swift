import ArgumentParser
import Foundation

/// The long options and flags a command declares, read from the command's own declaration (the JSON that
/// ArgumentParser describes a command with, `--experimental-dump-help`), so that a config file is checked
/// against exactly what the command line takes.
struct OptionTable: Sendable {
    /// How a name is given a value.
    enum Kind: Equatable, Sendable {
        /// `--name VALUE`.
        case option
        /// `--name` alone; `negation` is the name that turns it off (`no-history`), if it has one.
        case flag(negation: String?)
    }

    /// One option or flag: the name that identifies it, how it takes a value, and its default as help shows it.
    struct Entry: Equatable, Sendable {
        /// The option's preferred long name (`history` for `--history`/`--no-history`).
        let name: String
        /// How a name is given a value.
        let kind: Kind
        /// The default value, as help shows it (nil: none).
        let defaultValue: String?
    }

    /// The entries by every long name (both `history` and `no-history` lead to the same entry).
    private let byName: [String: Entry]

    /// Names every command has that a config file has no use for.
    private static let builtIn: Set<String> = [
        "help", "version", "experimental-dump-help", "generate-completion-script",
    ]

    /// The table of `command`'s options and flags (positional arguments have no name and are left out). A
    /// flag declared with `inversion: .prefixedNo` is described as two flags, `X` and `no-X`: they become one
    /// entry, `X`, with `no-X` its negation.
    init(_ command: any ParsableArguments.Type) {
        var byName: [String: Entry] = [:]
        let info = try? JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8))
        for argument in info?.command.arguments ?? [] {
            let longs = (argument.names ?? []).filter { $0.kind == .long }.map(\.name)
                .filter { !Self.builtIn.contains($0) }
            guard let name = argument.preferredName?.kind == .long ? argument.preferredName?.name : longs.first,
                  longs.contains(name) else { continue }
            let kind: Kind
            switch argument.kind {
            case .positional: continue
            case .option: kind = .option
            case .flag: kind = .flag(negation: nil)
            }
            let entry = Entry(name: name, kind: kind, defaultValue: argument.defaultValue)
            for long in longs { byName[long] = entry }
        }
        for (name, entry) in byName where entry.kind == .flag(negation: nil) && name.hasPrefix("no-") {
            let positive = String(name.dropFirst(3))
            guard let base = byName[positive], base.kind == .flag(negation: nil) else { continue }
            let paired = Entry(name: positive, kind: .flag(negation: name), defaultValue: base.defaultValue)
            byName[positive] = paired
            byName[name] = paired
        }
        self.byName = byName
    }

    /// The entry a long name (without `--`) belongs to, if the command takes it.
    func entry(named name: String) -> Entry? { byName[name] }

    /// Every long name the command takes.
    var names: [String] { byName.keys.sorted() }

    /// The command's long name nearest to a misspelt one, if one is close enough to be a likely typo.
    func suggestion(for name: String) -> String? {
        UsageHint.closest(to: name, among: names)
    }

    /// The part of ArgumentParser's JSON description of a command this table reads (`ToolInfoV0`).
    private struct Dump: Decodable {
        struct Command: Decodable { let arguments: [Argument]? }
        struct Argument: Decodable {
            struct Name: Decodable {
                enum Kind: String, Decodable { case long, short, longWithSingleDash }
                let kind: Kind
                let name: String
            }
            enum Kind: String, Decodable { case positional, option, flag }
            let kind: Kind
            let names: [Name]?
            let preferredName: Name?
            let defaultValue: String?
        }
        let command: Command
    }
}
