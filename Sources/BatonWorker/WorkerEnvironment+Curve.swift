import ZeroMQ

extension WorkerEnvironment {
    /// CURVE credentials from `BATON_SERVER_KEY` (the broker's public key, Z85) and
    /// `BATON_CLIENT_PUBLIC_KEY` / `BATON_CLIENT_SECRET_KEY` (this worker's key pair, Z85); nil without a
    /// server key. With a server key but no key pair of its own, the worker uses a fresh one (which the
    /// broker admits only if it is authorised, so this suits tests more than production).
    static func curveCredentials(from environment: [String: String]) throws(WorkerError) -> CurveClientCredentials? {
        guard let serverText = environment["BATON_SERVER_KEY"], !serverText.isEmpty else { return nil }
        guard let serverKey = Z85.decode(serverText), serverKey.count == 32 else {
            throw WorkerError("BATON_SERVER_KEY is not a 40-character Z85 key")
        }
        let keys: CurveKeyPair
        if let secretText = environment["BATON_CLIENT_SECRET_KEY"], !secretText.isEmpty {
            guard let secret = Z85.decode(secretText), let pair = CurveKeyPair(secretKey: secret) else {
                throw WorkerError("BATON_CLIENT_SECRET_KEY is not a 40-character Z85 key")
            }
            if let publicText = environment["BATON_CLIENT_PUBLIC_KEY"], !publicText.isEmpty,
               Z85.decode(publicText) != pair.publicKey {
                throw WorkerError("BATON_CLIENT_PUBLIC_KEY does not belong to BATON_CLIENT_SECRET_KEY")
            }
            keys = pair
        } else {
            do {
                keys = try CurveKeyPair.generate()
            } catch {
                throw WorkerError("cannot generate a CURVE key pair: \(error)")
            }
        }
        return CurveClientCredentials(serverKey: serverKey, keys: keys)
    }
}
