#if canImport(Glibc)
import Glibc
#endif

/// Why a command's output could not be written (``CommandOutput``).
enum OutputFailure: Error, Equatable, CustomStringConvertible {
    /// Nobody reads the output any more (`EPIPE`: `baton logs -f | grep -m1 …` after grep's match). Not an
    /// error: the command stops, as `yes | head` does.
    case readerGone
    /// The write failed for another reason, kept as `errno` (`ENOSPC`: the disk is full; `EIO`).
    case failed(name: String, errno: Int32)

    var description: String {
        switch self {
        case .readerGone: "the reader of the output has gone"
        case .failed(let name, let code): "cannot write to \(name): \(String(cString: strerror(code)))"
        }
    }
}
