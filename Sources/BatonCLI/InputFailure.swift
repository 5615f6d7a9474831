/// Why something given to `baton` cannot be used: a config file, a key file, or flags that need each other.
/// The text names the file and line (`baton.conf:3: …`), or the flag.
///
/// One type for every such mistake: a `serve` config file's lines, CURVE key files, and `--authorized-*`
/// without `--curve-key`. Failures with a different handling keep their own types (``OutputFailure``,
/// ``ControlClient/Failure``).
struct InputFailure: Error, Equatable, CustomStringConvertible {
    /// A sentence for the user, naming the file and line or the flag.
    let description: String

    /// A failure described by `description`.
    init(_ description: String) {
        self.description = description
    }

    /// A failure at a line of a file: `PATH:LINE: message`.
    init(_ path: String, line: Int, _ message: String) {
        self.init("\(path):\(line): \(message)")
    }
}
