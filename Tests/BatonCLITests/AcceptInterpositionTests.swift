import Foundation
import Testing

/// The accept that drops a connection when no descriptor is left belongs to the `baton` executable alone:
/// a program that links Baton's libraries (a user's worker on BatonWorker) keeps libc's.
@Suite("Baton's own accept", .timeLimit(.minutes(3)))
struct AcceptInterpositionTests {
    /// The names among `accept` and `accept4` that `nm` (with `options`) lists as defined in `binary`.
    private func definedAccepts(_ binary: String, _ options: [String]) throws -> Set<String> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nm"] + options + ["--defined-only", binary]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "nm \(binary)")
        return Set(output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, ["T", "W"].contains(fields[1]), ["accept", "accept4"].contains(fields[2])
            else { return nil }
            return String(fields[2])
        })
    }

    @Test("the baton executable exports accept and accept4, so libzmq's listeners call them")
    func batonExports() throws {
        #expect(try definedAccepts(Harness.batonPath, ["-D"]) == ["accept", "accept4"])
    }

    @Test("the example worker, which links BatonWorker, defines no accept of its own")
    func workerKeepsLibc() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Harness.exampleWorkerPath))
        #expect(try definedAccepts(Harness.exampleWorkerPath, []) == [])
    }
}
