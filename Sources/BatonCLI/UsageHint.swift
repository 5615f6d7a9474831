/// Hints added to a usage error for the mistakes a new user makes most: a worker command given without
/// `--`, and a misspelt subcommand.
enum UsageHint {
    /// The subcommands whose trailing arguments are a worker command, taken only after `--`.
    static let commandTakers: Set<String> = ["serve", "reload"]

    /// `message` (the parser's full error text) with a hint added, or `nil` when there is nothing to add.
    /// `arguments` are the command line after the program name.
    static func rewrite(_ message: String, arguments: [String], subcommands: [String]) -> String? {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, first.hasPrefix("Error: ") else { return nil }
        let lowered = first.lowercased()
        if let subcommand = arguments.first, commandTakers.contains(subcommand),
           lowered.contains("unexpected argument"), !arguments.contains("--")
        {
            lines.insert("Put the worker command after `--`: baton \(subcommand) [<options>] -- COMMAND [ARGS...]",
                         at: 1)
            return lines.joined(separator: "\n")
        }
        if let word = arguments.first, !word.hasPrefix("-"), !subcommands.contains(word),
           first == "Error: Unexpected argument '\(word)'"
        {
            if let suggestion = closest(to: word, among: subcommands) {
                lines[0] += ": no such command. Did you mean '\(suggestion)'?"
            } else {
                lines[0] += ": no such command. The commands: \(subcommands.joined(separator: ", "))"
            }
            return lines.joined(separator: "\n")
        }
        return nil
    }

    /// The candidate nearest to `word` by edit distance, if it is close enough to be a likely typo.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let allowed = max(2, best.0.count / 3)
        return best.1 <= allowed ? best.0 : nil
    }

    /// Levenshtein distance, counting a swap of two neighbouring characters as one edit.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs), b = Array(rhs)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
