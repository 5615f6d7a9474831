extension HistoryEvent {
    /// The `worker_id` recorded for a worker's ZeroMQ routing id.
    ///
    /// A routing id a worker chose (managed workers use `BATON_WORKER_ID`) is recorded as its text when it is
    /// printable UTF-8. Otherwise — above all the 5-byte id libzmq gives a socket that sets none, starting with
    /// a zero byte — it is recorded as `ext-` followed by the id's lower-case hex, so every connection has a
    /// stable, readable name (`ext-00e43c9869`).
    public static func workerID(forRoutingID id: [UInt8]) -> String {
        if !id.isEmpty, let text = String(validating: id, as: UTF8.self),
           !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
           !text.hasPrefix(externalPrefix)
        {
            return text
        }
        let digits = Array("0123456789abcdef".utf8)
        var name = Array(externalPrefix.utf8)
        name.reserveCapacity(name.count + id.count * 2)
        for byte in id {
            name.append(digits[Int(byte >> 4)])
            name.append(digits[Int(byte & 15)])
        }
        return String(decoding: name, as: UTF8.self)
    }

    /// The prefix of the names given to routing ids that are not printable text.
    static let externalPrefix = "ext-"
}
