import CZeroMQ

/// Z85, ZeroMQ's printable encoding of binary keys (RFC 32): 4 bytes become 5 characters.
public enum Z85 {
    /// Encodes bytes whose count is a multiple of 4; `nil` otherwise.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let encoded = bytes.withUnsafeBufferPointer { input in
            zmq_z85_encode(&text, input.baseAddress, input.count)
        }
        return encoded == nil ? nil : String(z85: text)
    }

    /// Decodes Z85 text whose length is a multiple of 5; `nil` if it is not valid Z85.
    public static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 5 == 0, characters.allSatisfy(isZ85) else { return nil }
        var bytes = [UInt8](repeating: 0, count: characters.count / 5 * 4)
        let decoded = text.withCString { zmq_z85_decode(&bytes, $0) }
        return decoded == nil ? nil : bytes
    }

    /// Whether a byte is one of the 85 characters of the Z85 alphabet.
    static func isZ85(_ byte: UInt8) -> Bool {
        alphabet.contains(byte)
    }

    private static let alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
}

/// A CURVE key pair (Curve25519): 32-byte public and secret keys.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key, 32 bytes: what peers are told and authorised by.
    public let publicKey: [UInt8]
    /// The secret key, 32 bytes: never leaves its owner.
    public let secretKey: [UInt8]

    /// Whether this libzmq was built with CURVE support (libsodium or tweetnacl).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }

    /// A fresh random key pair.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: Z85.decode(String(z85: publicText))!,
                            secretKey: Z85.decode(String(z85: secretText))!)
    }

    /// The pair for a secret key, its public key derived from it; `nil` if the key is not 32 bytes.
    public init?(secretKey: [UInt8]) {
        guard secretKey.count == 32, let secretText = Z85.encode(secretKey) else { return nil }
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secretText) == 0,
              let publicKey = Z85.decode(String(z85: publicText))
        else { return nil }
        self.init(publicKey: publicKey, secretKey: secretKey)
    }

    private init(publicKey: [UInt8], secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The public key as 40 characters of Z85.
    public var publicText: String { Z85.encode(publicKey)! }
    /// The secret key as 40 characters of Z85.
    public var secretText: String { Z85.encode(secretKey)! }
}

/// What a CURVE client needs: the server's public key and a key pair of its own.
public struct CurveClientCredentials: Sendable, Equatable {
    /// The server's public key, 32 bytes.
    public let serverKey: [UInt8]
    /// The client's own key pair.
    public let keys: CurveKeyPair

    /// Credentials for a server key and a client key pair; `nil` if the server key is not 32 bytes.
    public init?(serverKey: [UInt8], keys: CurveKeyPair) {
        guard serverKey.count == 32 else { return nil }
        self.serverKey = serverKey
        self.keys = keys
    }
}

extension String {
    /// A NUL-terminated C buffer of Z85 text as a string.
    init(z85 buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
