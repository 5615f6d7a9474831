/// The credentials of the process at the other end of an ipc connection, as libzmq reports them.
///
/// On Linux, libzmq reads `SO_PEERCRED` when it accepts an ipc connection and appends `:uid:gid:pid` to the
/// peer's address, which every message from that peer carries as its `Peer-Address` property (see
/// ``Socket/receive(into:peerAddress:dontWait:)``) and which a ZAP handler receives as the address. The
/// address in front may itself contain colons (for ipc it is usually `localhost`); the credentials are the
/// last three fields. A tcp peer's address has no credentials.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32
    /// The peer's process id when it connected.
    public var pid: Int32

    /// Creates credentials.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    /// Parses the credentials at the end of a peer address (`ADDRESS:uid:gid:pid`); nil when there are none.
    public init?(peerAddress: String) {
        let fields = peerAddress.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 4,
              let uid = Self.decimal(fields[fields.count - 3]).flatMap(UInt32.init(exactly:)),
              let gid = Self.decimal(fields[fields.count - 2]).flatMap(UInt32.init(exactly:)),
              let pid = Self.decimal(fields[fields.count - 1]).flatMap(Int32.init(exactly:))
        else { return nil }
        self.init(uid: uid, gid: gid, pid: pid)
    }

    /// A field of ASCII digits only (no sign, no spaces) as a number.
    private static func decimal(_ field: Substring) -> UInt64? {
        guard !field.isEmpty, field.utf8.count <= 10, field.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return UInt64(field)
    }

    /// `uid U gid G pid P`.
    public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }
}
