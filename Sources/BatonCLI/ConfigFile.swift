import ArgumentParser
import Foundation

/// A `baton serve` config file: what flags can set, one `key = value` per line.
///
/// ```
/// # /etc/baton/baton.conf
/// frontend = tcp://0.0.0.0:5555
/// workers = 8
/// request-timeout = 5
/// history = true
/// curve-key = /etc/baton/server.key
/// authorized-workers = /etc/baton/authorized-workers
/// max-clients = 10000
/// command = /opt/game/bin/match-server --map "big arena"
/// ```
/// Keys are the long flag names without `--` (serve's own option table, ``OptionTable``), each set once.
/// `true`/`false` turn a flag on or off (`history = false` is `--no-history`). `command` is the worker
/// command, split like a shell does (quotes, no expansions). Flags given on the command line win over the file.
struct ConfigFile {
    /// The flags the file sets, and the worker command if it names one.
    var flags: [String] = []
    var command: [String] = []

    /// What a config file may set: serve's own options and flags.
    static let serveOptions = OptionTable(ServeCommand.self)

    /// Parses config text; `path` is for error messages. Every key must be one of `options` (or `command`),
    /// set once, with a value its option takes; otherwise throws an ``InputFailure`` naming the line.
    init(text: String, path: String, options: OptionTable = Self.serveOptions) throws {
        var firstLine: [String: Int] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw InputFailure(path, line: number, "expected `key = value`")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw InputFailure(path, line: number, "bad key '\(key)'")
            }
            if key == "config" { throw InputFailure(path, line: number, "a config file cannot include another") }
            let entry = options.entry(named: key)
            guard key == "command" || entry != nil else {
                var text = "unknown key '\(key)'"
                if let suggestion = options.suggestion(for: key) { text += "; did you mean '\(suggestion)'?" }
                throw InputFailure(path, line: number,
                                   text + " (keys are serve's long option names without `--`: baton help serve)")
            }
            let setting = entry?.name ?? key
            if let first = firstLine[setting] {
                throw InputFailure(path, line: number, "\(setting) is set twice (first on line \(first))")
            }
            firstLine[setting] = number
            let words = try Self.split(value, at: "\(path):\(number)")
            guard let entry else {
                command = words
                continue
            }
            let flag = try Self.flag(for: entry, key: key, value: value, words: words, at: path, line: number)
            try Self.check(flag, path: path, line: number)
            flags.append(flag)
        }
    }

    /// The command-line flag a line `key = value` stands for; throws, naming the line, if it stands for none.
    private static func flag(for entry: OptionTable.Entry, key: String, value: String, words: [String],
                             at path: String, line: Int) throws -> String {
        switch entry.kind {
        case .option:
            guard value != "true" && value != "false" else {
                throw InputFailure(path, line: line, "\(key) takes a value, not true or false")
            }
            return "--\(key)=\(words.joined(separator: " "))"
        case .flag(let negation):
            switch value {
            case "true": return "--\(key)"
            case "false" where key != entry.name: return "--\(entry.name)"
            case "false":
                guard let negation else { throw InputFailure(path, line: line, "\(key) can only be true") }
                return "--\(negation)"
            default: throw InputFailure(path, line: line, "\(key) takes true or false, not '\(value)'")
            }
        }
    }

    /// Throws, naming the file and line, if serve rejects the value a line gives its flag: the value is
    /// parsed as serve parses its command line, with serve's own checks.
    static func check(_ flag: String, path: String, line: Int) throws {
        do {
            _ = try ServeCommand.parse([flag])
        } catch {
            throw InputFailure(path, line: line, ServeCommand.message(for: error))
        }
    }

    /// Splits a command line into words: whitespace separates, single and double quotes group, `\` escapes.
    static func split(_ text: String, at location: String) throws -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
                inWord = true
            } else if let open = quote {
                if character == open { quote = nil } else { word.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(character)
                inWord = true
            }
        }
        if quote != nil || escaped { throw InputFailure("\(location): unterminated quote or escape") }
        if inWord { words.append(word) }
        return words
    }

    /// Rewrites `baton serve … --config FILE …` into the file's flags, then the command line's flags (which
    /// win, coming later), then the worker command (the command line's if it has one, else the file's).
    static func expand(_ arguments: [String]) throws -> [String] {
        guard arguments.count > 1, arguments[1] == "serve" else { return arguments }
        var rest = Array(arguments.dropFirst(2))
        var passthrough: [String] = []
        if let dashes = rest.firstIndex(of: "--") {
            passthrough = Array(rest[dashes...])
            rest = Array(rest[..<dashes])
        }
        var path: String?
        var flags: [String] = []
        var index = 0
        while index < rest.count {
            if rest[index] == "--config", index + 1 < rest.count {
                path = rest[index + 1]
                index += 2
                continue
            }
            if rest[index].hasPrefix("--config=") {
                path = String(rest[index].dropFirst("--config=".count))
                index += 1
                continue
            }
            flags.append(rest[index])
            index += 1
        }
        guard let path else { return arguments }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw InputFailure("cannot read config file \(path): \(error.localizedDescription)")
        }
        let file = try ConfigFile(text: text, path: path)
        let command = passthrough.isEmpty && !file.command.isEmpty ? ["--"] + file.command : passthrough
        return [arguments[0], "serve"] + file.flags + flags + command
    }
}
