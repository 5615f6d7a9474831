import Foundation
import ZeroMQ

/// A CURVE key pair in the files `serve --curve-key` and the authorised-keys options read.
struct CurveKeyFiles {
    let keys: CurveKeyPair

    /// A fresh pair.
    init() throws {
        keys = try CurveKeyPair.generate()
    }

    /// Writes the pair as `baton keygen` does (mode 0600) and returns the path.
    func writeKeyPair(to path: String) throws -> String {
        try "public-key = \(keys.publicText)\nsecret-key = \(keys.secretText)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    /// Writes the public keys of `pairs` as an authorised-keys file (mode 0600) and returns the path.
    static func writeAuthorized(_ pairs: [CurveKeyFiles], to path: String) throws -> String {
        try pairs.map { $0.keys.publicText + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    /// What a peer with this pair needs to reach a server whose pair is `server`.
    func credentials(for server: CurveKeyFiles) -> CurveClientCredentials {
        CurveClientCredentials(serverKey: server.keys.publicKey, keys: keys)!
    }
}
