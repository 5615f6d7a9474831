import ArgumentParser
import ZeroMQ

/// `call` and `bench`: CURVE towards a broker that serves its frontend with `--curve-key`.
struct CurveClientOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "The broker's CURVE public key: 40 characters of Z85, or its .pub file. Turns CURVE on.")
    var serverKey: String?

    @Option(help: "This client's key pair file (PREFIX.key from `baton keygen`; default: a fresh key pair).")
    var clientKey: String?

    func validate() throws {
        if clientKey != nil && serverKey == nil { throw ValidationError("--client-key needs --server-key") }
    }

    /// The credentials to use, or nil without `--server-key`; throws ``KeyFiles/Failure`` for a bad key file.
    func credentials() throws -> CurveClientCredentials? {
        guard let serverKey else { return nil }
        let server = try KeyFiles.readServerKey(serverKey)
        let keys = try clientKey.map(KeyFiles.readKeyPair) ?? CurveKeyPair.generate()
        return CurveClientCredentials(serverKey: server, keys: keys)
    }
}
