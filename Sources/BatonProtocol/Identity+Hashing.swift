// Equality and hashing of the identities, inlinable into other modules. They are what the synthesized
// conformances give (each type has one stored property, compared and hashed alone), but those are calls into
// this module that the broker's dictionaries (workers by id, requests in flight by id, sessions by key) make
// on every message: a dictionary keyed by `RequestID` ran at about half the speed of one keyed by `UInt64`.
// `_rawHashValue(seed:)` is the hash `Set` and `Dictionary` use; forwarding it keeps the stored value's own.

extension RequestID {
    /// Whether both are the same request.
    @inlinable
    public static func == (lhs: RequestID, rhs: RequestID) -> Bool { lhs.value == rhs.value }

    /// Hashes the number.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }

    /// The number's own hash.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { value._rawHashValue(seed: seed) }
}

extension WorkerID {
    /// Whether both are the same routing id.
    @inlinable
    public static func == (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.bytes == rhs.bytes }

    /// Hashes the routing id.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The routing id's own hash.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { bytes._rawHashValue(seed: seed) }
}

extension SessionKey {
    /// Whether both are the same key.
    @inlinable
    public static func == (lhs: SessionKey, rhs: SessionKey) -> Bool { lhs.bytes == rhs.bytes }

    /// Hashes the key.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The key's own hash.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { bytes._rawHashValue(seed: seed) }
}

extension ClientID {
    /// Whether both are the same routing id.
    @inlinable
    public static func == (lhs: ClientID, rhs: ClientID) -> Bool { lhs.bytes == rhs.bytes }

    /// Hashes the routing id.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The routing id's own hash.
    @inlinable
    public func _rawHashValue(seed: Int) -> Int { bytes._rawHashValue(seed: seed) }
}
