import ArgumentParser
import ZeroMQ

/// `baton keygen PREFIX`: a CURVE key pair for a server, a worker or a client.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub (public).",
        discussion: """
            PREFIX.key holds two lines, `public-key = KEY` and `secret-key = KEY` (Z85); give it to serve \
            --curve-key, or to call and bench --client-key. PREFIX.pub holds the public key alone: give it to \
            clients as --server-key, or add its line to an --authorized-workers or --authorized-clients file. \
            Existing files are never overwritten. See docs/security.md.
            """
    )

    @Argument(help: "Path prefix of the two files.")
    var prefix: String

    func run() throws {
        let keys: CurveKeyPair
        do {
            keys = try KeyFiles.generate(prefix: prefix)
        } catch {
            printError("baton keygen: \(error)")
            throw ExitCode(1)
        }
        try CommandOutput.standardOutput.line("wrote \(prefix).key (secret) and \(prefix).pub")
        try CommandOutput.standardOutput.line(keys.publicText)
    }
}
