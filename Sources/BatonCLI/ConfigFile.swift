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
/// Keys are the long flag names without `--`. `true`/`false` turn a flag on or off (`history = false` is
/// `--no-history`). `command` is the worker command, split like a shell does (quotes, no expansions).
/// Flags given on the command line win over the file.
struct ConfigFile {
    /// Why a config file could not be used.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The flags the file sets, and the worker command if it names one.
    var flags: [String] = []
    var command: [String] = []

    /// Parses config text; `path` is for error messages.
    init(text: String, path: String) throws {
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Failure(description: "\(path):\(number + 1): expected `key = value`")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw Failure(description: "\(path):\(number + 1): bad key '\(key)'")
            }
            if key == "command" {
                command = try Self.split(value, at: "\(path):\(number + 1)")
            } else if key == "config" {
                throw Failure(description: "\(path):\(number + 1): a config file cannot include another")
            } else if value == "true" {
                flags.append("--\(key)")
            } else if value == "false" {
                flags.append("--no-\(key)")
            } else {
                flags.append("--\(key)=\(try Self.split(value, at: "\(path):\(number + 1)").joined(separator: " "))")
            }
            try Self.check(flags.last ?? "", key: key, at: "\(path):\(number + 1)")
        }
    }

    /// Throws, naming the file and line, if serve does not take the flag a line became or rejects its value.
    static func check(_ flag: String, key: String, at location: String) throws {
        guard !flag.isEmpty else { return }
        do {
            _ = try ServeCommand.parse([flag])
        } catch {
            let message = ServeCommand.message(for: error)
            guard message.hasPrefix("Unknown option") else { throw Failure(description: "\(location): \(message)") }
            if flag == "--no-\(key)", isOption(key) {
                throw Failure(description: "\(location): \(key) takes a value, not true or false")
            }
            var text = "\(location): unknown key '\(key)'"
            if let range = message.range(of: "Did you mean '--") {
                text += "; did you mean '\(message[range.upperBound...].prefix { $0 != "'" })'?"
            }
            throw Failure(description: text + " (keys are serve's long option names without `--`: baton help serve)")
        }
    }

    /// Whether serve has an option `--key`.
    private static func isOption(_ key: String) -> Bool {
        do {
            _ = try ServeCommand.parse(["--\(key)"])
            return true
        } catch {
            return !ServeCommand.message(for: error).hasPrefix("Unknown option")
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
        if quote != nil || escaped { throw Failure(description: "\(location): unterminated quote or escape") }
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
            throw Failure(description: "cannot read config file \(path): \(error.localizedDescription)")
        }
        let file = try ConfigFile(text: text, path: path)
        let command = passthrough.isEmpty && !file.command.isEmpty ? ["--"] + file.command : passthrough
        return [arguments[0], "serve"] + file.flags + flags + command
    }
}
