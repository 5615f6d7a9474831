import ArgumentParser
import Foundation
import Store

/// `--state-dir` and `--json`, shared by the commands that read the history database.
struct HistoryOptions: ParsableArguments {
    @OptionGroup var location: StateDirOption

    @Flag(help: "Print JSON.")
    var json = false

    /// Opens the database read-only, or exits 1 with the reason.
    func open() throws -> HistoryDatabase {
        let path = URL(fileURLWithPath: try location.path).standardizedFileURL.path + "/baton.sqlite"
        do {
            return try HistoryDatabase.openReadOnly(path: path)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }

    /// Prints a value as sorted, indented JSON.
    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try CommandOutput.standardOutput.line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Formats a duration in microseconds as milliseconds with three decimals, "-" when unknown.
func milliseconds(_ microseconds: Int64?) -> String {
    guard let microseconds else { return "-" }
    let whole = microseconds / 1000
    let fraction = String(microseconds % 1000)
    return "\(whole)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
