import CBatonFuzz
import Foundation

/// `baton-fuzz TARGET [libFuzzer flags] [corpus…]`: one executable for every fuzz target (docs/fuzzing.md),
/// built by `scripts/fuzz` with `-sanitize=fuzzer,address`.
@main
enum BatonFuzz {
    static func main() {
        var arguments = CommandLine.arguments
        // libFuzzer runs itself again for -merge, -fork and -minimize_crash with its own flags only: the target
        // travels in the environment.
        if arguments.count > 1, let named = FuzzTarget(rawValue: arguments[1]) {
            setenv("BATON_FUZZ_TARGET", named.rawValue, 1)
            arguments.remove(at: 1)
        }
        guard let target = ProcessInfo.processInfo.environment["BATON_FUZZ_TARGET"].flatMap(FuzzTarget.init) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: baton-fuzz TARGET [libFuzzer flags]; targets: \(names)\n".utf8))
            exit(2)
        }
        FuzzTarget.selected = target
        target.prepare()
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
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
