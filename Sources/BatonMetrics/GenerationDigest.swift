import Dispatch
import Store
import Synchronization

/// The SHA-256 of the active generation's executable for `baton_generation_info`, computed off the
/// concurrency pool the first time a generation is scraped, then remembered.
final class GenerationDigest: Sendable {
    private let cached = Mutex<(key: String, digest: String)?>(nil)

    /// The digest of `executable` for `generation` ("" if it cannot be read); nil without an executable.
    func digest(of executable: String?, generation: Int) async -> String? {
        guard let executable else { return nil }
        let key = "\(generation) \(executable)"
        if let cached = cached.withLock({ $0 }), cached.key == key { return cached.digest }
        let digest = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(returning: (try? ExecutableDigest.hexDigest(ofFile: executable)) ?? "")
            }
        }
        cached.withLock { $0 = (key, digest) }
        return digest
    }
}
