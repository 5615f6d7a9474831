#if canImport(Glibc)
import Glibc
#endif

/// Writes text to a file descriptor without the C `stderr` global (which Swift 6 rejects).
struct FileOutput {
    let fd: Int32

    static let standardError = FileOutput(fd: 2)
    static let standardOutput = FileOutput(fd: 1)

    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
