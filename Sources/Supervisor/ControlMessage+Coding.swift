import Foundation

/// The JSON keys of control messages (docs/protocol.md, "Control protocol").
enum ControlKey: String, CodingKey {
    case version, command, reply, status, pid, progress, wait, outcome, reason
}

extension ControlRequest: Codable {
    /// Encodes the request with the protocol version and the command's name.
    public func encode(to encoder: any Encoder) throws {
        _ = try ControlCodec.header(in: encoder, name: command.rawValue, forKey: .command)
        switch self {
        case .status, .stop: break
        case .reload(let request): try request.encode(to: encoder)
        }
    }

    /// Decodes a request of this protocol version; throws ``ControlMessageError`` for another version or an
    /// unknown command.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ControlKey.self)
        try ControlCodec.checkVersion(in: container)
        let name = try container.decode(String.self, forKey: .command)
        guard let command = Command(rawValue: name) else { throw ControlMessageError.unknownCommand(name) }
        switch command {
        case .status: self = .status
        case .stop: self = .stop
        case .reload: self = .reload(try ReloadRequest(from: decoder))
        }
    }
}

extension ControlReply: Codable {
    /// Encodes the reply with the protocol version and the reply's name.
    public func encode(to encoder: any Encoder) throws {
        var container = try ControlCodec.header(in: encoder, name: kind.rawValue, forKey: .reply)
        switch self {
        case .status(let report): try container.encode(report, forKey: .status)
        case .stopping(let pid): try container.encode(pid, forKey: .pid)
        case .progress(let step, let wait):
            try container.encode(step, forKey: .progress)
            try container.encodeIfPresent(wait, forKey: .wait)
        case .finished(let outcome): try container.encode(outcome, forKey: .outcome)
        case .refused(let reason), .denied(let reason): try container.encode(reason, forKey: .reason)
        }
    }

    /// Decodes a reply of this protocol version; throws ``ControlMessageError`` for another version or an
    /// unknown reply.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ControlKey.self)
        try ControlCodec.checkVersion(in: container)
        let name = try container.decode(String.self, forKey: .reply)
        guard let kind = Kind(rawValue: name) else { throw ControlMessageError.unknownReply(name) }
        switch kind {
        case .status: self = .status(try container.decode(StatusReport.self, forKey: .status))
        case .stopping: self = .stopping(pid: try container.decode(Int32.self, forKey: .pid))
        case .progress:
            self = .progress(try container.decode(ReloadProgress.self, forKey: .progress),
                             wait: try container.decodeIfPresent(ReloadWait.self, forKey: .wait))
        case .finished: self = .finished(try container.decode(ReloadOutcome.self, forKey: .outcome))
        case .refused: self = .refused(try container.decode(String.self, forKey: .reason))
        case .denied: self = .denied(try container.decode(String.self, forKey: .reason))
        }
    }
}

/// Why a control message could not be read.
public enum ControlMessageError: Error, Equatable, CustomStringConvertible {
    /// Not a JSON object of the protocol's shape.
    case malformed
    /// It says another protocol version (nil: it says none, as the messages of releases before versions).
    case unsupportedVersion(Int?)
    /// A request whose command this supervisor does not know.
    case unknownCommand(String)
    /// A reply this client does not know.
    case unknownReply(String)
    /// A JSON object with a field missing, null or of the wrong type: the field's path and what is wrong.
    case invalidField(String, problem: String)
    /// A request of this many frames (after the peer's routing id) instead of two, an empty delimiter and
    /// one JSON document.
    case frames(Int)

    /// A sentence for the peer and the log.
    public var description: String {
        switch self {
        case .malformed:
            "malformed control request"
        case .unsupportedVersion(let version):
            "unsupported control protocol version \(version.map(String.init) ?? "(none given)"): this side speaks "
                + "version \(ControlCodec.version); use `baton` of the same release as the supervisor"
        case .invalidField(let field, let problem):
            "malformed control request: field \"\(field)\": \(problem)"
        case .unknownCommand(let name):
            "unknown control command \"\(Self.shortened(name))\" (known: "
                + ControlRequest.Command.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .unknownReply(let name):
            "unknown control reply \"\(Self.shortened(name))\""
        case .frames(let count):
            "a control request is two frames, an empty delimiter and one JSON document (got \(count) "
                + "frame\(count == 1 ? "" : "s"))"
        }
    }
}

/// Encoding and decoding of control messages as single JSON frames.
public enum ControlCodec {
    /// The control protocol version this release speaks; a message with another one is refused.
    public static let version = 1

    /// The JSON frame of a request or reply.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Every control message is plain data; encoding cannot fail.
        return (try? Array(encoder.encode(value))) ?? []
    }

    /// Decodes a frame; nil if it is not a valid message of that type.
    public static func decode<Value: Decodable>(_ type: Value.Type, from frame: [UInt8]) -> Value? {
        try? read(type, from: frame).get()
    }

    /// Decodes a frame, or says why it cannot: another protocol version, an unknown command or reply, or
    /// not a message at all.
    public static func read<Value: Decodable>(_ type: Value.Type, from frame: [UInt8])
        -> Result<Value, ControlMessageError>
    {
        do {
            return .success(try JSONDecoder().decode(type, from: Data(frame)))
        } catch let error as ControlMessageError {
            return .failure(error)
        } catch let error as DecodingError {
            return .failure(ControlMessageError(error) ?? .malformed)
        } catch {
            return .failure(.malformed)
        }
    }

    /// Starts a message: the protocol ``version`` and the message's name under `key`.
    static func header(in encoder: any Encoder, name: String, forKey key: ControlKey) throws
        -> KeyedEncodingContainer<ControlKey>
    {
        var container = encoder.container(keyedBy: ControlKey.self)
        try container.encode(version, forKey: .version)
        try container.encode(name, forKey: key)
        return container
    }

    /// Throws ``ControlMessageError/unsupportedVersion(_:)`` unless the message says ``version``, and
    /// ``ControlMessageError/invalidField(_:problem:)`` when its version is not a whole number.
    static func checkVersion(in container: KeyedDecodingContainer<ControlKey>) throws {
        guard container.contains(.version) else { throw ControlMessageError.unsupportedVersion(nil) }
        guard let given = try? container.decode(Int.self, forKey: .version) else {
            throw ControlMessageError.invalidField(ControlKey.version.stringValue, problem: "not a whole number")
        }
        guard given == version else { throw ControlMessageError.unsupportedVersion(given) }
    }
}
