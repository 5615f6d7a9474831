import BatonProtocol
import Crypto
import Foundation

/// The SHA-256 digest of a generation's executable, which tells two builds of the worker code apart.
public enum ExecutableDigest {
    /// The lower-case hex SHA-256 of a file's contents, read in 1 MiB chunks.
    public static func hexDigest(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return Hex.lowercase(hash.finalize())
    }
}
