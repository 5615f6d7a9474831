import Foundation
import ZeroMQ

/// CURVE key files: what `baton keygen` writes and what `serve`, `call` and `bench` read.
///
/// `PREFIX.key` (secret; mode 0600, owned by the user that runs Baton):
/// ```
/// # Baton CURVE key pair: keep this file secret (mode 0600).
/// public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
/// secret-key = JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6
/// ```
/// `PREFIX.pub`, and every `--authorized-*` file: one Z85 public key (40 characters) per line; `#` starts
/// a comment, blank lines are ignored. So `cat *.pub > authorized-workers` makes an authorised-keys file.
enum KeyFiles {
    // MARK: Writing

    /// Writes `PREFIX.key` (mode 0600) and `PREFIX.pub` (mode 0644) for a fresh key pair; refuses to replace
    /// either file.
    static func generate(prefix: String) throws -> CurveKeyPair {
        let keys = try CurveKeyPair.generate()
        let secretPath = prefix + ".key"
        let publicPath = prefix + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw InputFailure("\(path) exists; not overwriting it")
        }
        try write(secretPath, mode: 0o600, """
            # Baton CURVE key pair: keep this file secret (mode 0600).
            public-key = \(keys.publicText)
            secret-key = \(keys.secretText)

            """)
        do {
            try write(publicPath, mode: 0o644, """
                # Baton CURVE public key (\(URL(fileURLWithPath: prefix).lastPathComponent))
                \(keys.publicText)

                """)
        } catch {
            unlink(secretPath)
            throw error
        }
        return keys
    }

    private static func write(_ path: String, mode: mode_t, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw InputFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have taken bits away; never adds any
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw InputFailure("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: Reading

    /// Reads a secret key file: the file must be owned by this user (or root) and not readable or writable by
    /// group or others; a `public-key` line, if present, must match the secret key.
    static func readKeyPair(_ path: String) throws -> CurveKeyPair {
        try checkOwner(path, forbidden: 0o077, what: "a secret key file must not be accessible by group or others")
        var secret: [UInt8]?
        var declaredPublic: (key: [UInt8], line: Int)?
        for (number, line) in try lines(path) {
            guard let equals = line.firstIndex(of: "=") else {
                throw InputFailure(path, line: number, "expected `public-key = …` or `secret-key = …`")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let key = decodeKey(value) else {
                throw InputFailure(path, line: number, "not a 40-character Z85 key")
            }
            switch name {
            case "secret-key": secret = key
            case "public-key": declaredPublic = (key, number)
            default: throw InputFailure(path, line: number, "unknown key '\(name)'")
            }
        }
        guard let secret, let pair = CurveKeyPair(secretKey: secret) else {
            throw InputFailure("\(path): no secret-key line")
        }
        if let declaredPublic, declaredPublic.key != pair.publicKey {
            throw InputFailure(path, line: declaredPublic.line, "public-key does not belong to secret-key")
        }
        return pair
    }

    /// Reads an authorised-keys file: one Z85 public key per line. The file must be owned by this user (or
    /// root) and not writable by group or others, since whoever can write it can let peers in.
    static func readAuthorizedKeys(_ path: String) throws -> Set<[UInt8]> {
        try checkOwner(path, forbidden: 0o022, what: "an authorised-keys file must not be writable by group or others")
        return Set(try publicKeys(path))
    }

    /// A server public key given as 40 characters of Z85, or as a file holding exactly one (a `.pub` file).
    static func readServerKey(_ value: String) throws -> [UInt8] {
        if let key = decodeKey(value) { return key }
        guard FileManager.default.fileExists(atPath: value) else {
            throw InputFailure("--server-key: '\(value)' is neither a 40-character Z85 key nor a file")
        }
        let keys = try publicKeys(value)
        guard keys.count == 1 else {
            throw InputFailure("\(value): expected one public key, found \(keys.count)")
        }
        return keys[0]
    }

    private static func publicKeys(_ path: String) throws -> [[UInt8]] {
        try lines(path).map { number, line in
            guard let key = decodeKey(line) else {
                throw InputFailure(path, line: number, "not a 40-character Z85 public key")
            }
            return key
        }
    }

    /// The file's lines that are not blank or comments, trimmed, with their 1-based numbers.
    private static func lines(_ path: String) throws -> [(Int, String)] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw InputFailure("cannot read \(path): \(error.localizedDescription)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            return line.isEmpty || line.hasPrefix("#") ? nil : (index + 1, line)
        }
    }

    private static func decodeKey(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 40, let key = Z85.decode(text), key.count == 32 else { return nil }
        return key
    }

    /// Refuses a file not owned by this user or root, or with any of the `forbidden` mode bits.
    private static func checkOwner(_ path: String, forbidden: mode_t, what: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw InputFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw InputFailure(
                "\(path) is owned by uid \(info.st_uid), not by this user (\(geteuid())) or root")
        }
        let mode = info.st_mode & 0o777
        guard mode & forbidden == 0 else {
            let fixed = String(0o777 & ~forbidden & mode, radix: 8)
            throw InputFailure("\(path) has mode \(String(mode, radix: 8)): \(what) (chmod \(fixed) \(path))")
        }
    }
}
