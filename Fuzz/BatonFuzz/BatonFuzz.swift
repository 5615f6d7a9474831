import CBatonFuzz
import Foundation

/// `baton-fuzz TARGET [libFuzzer flags] [corpus…]`: one executable for every fuzz target (docs/fuzzing.md),
/// built by `scripts/fuzz` with `-sanitize=fuzzer,address`.
@main
enum BatonFuzz {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count > 1, let target = FuzzTarget(rawValue: arguments[1]) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: baton-fuzz TARGET [libFuzzer flags]; targets: \(names)\n".utf8))
            exit(2)
        }
        FuzzTarget.selected = target
        target.prepare()
        // libFuzzer reads its flags from argv; the target's name is not one of them.
        var argv: [UnsafeMutablePointer<CChar>?] = ([arguments[0]] + arguments.dropFirst(2)).map { strdup($0) } + [nil]
        var argc = Int32(argv.count - 1)
        let status = argv.withUnsafeMutableBufferPointer { buffer in
            var base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &base) { data, size in
                FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                return 0
            }
        }
        exit(status)
    }
}

/// libFuzzer's runtime refers to this symbol; the driver above passes the same entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// Stops the run on a broken promise: libFuzzer saves the input that did it as `crash-…`.
func fuzzFailure(_ message: String) -> Never {
    FileHandle.standardError.write(Data("baton-fuzz: \(message)\n".utf8))
    abort()
}

/// Routing ids and keys in messages about the walk.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
