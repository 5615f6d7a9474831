import BatonProtocol
import Foundation
import Supervisor

/// The numbers Baton reports, found without a list of them: every numeric leaf of `baton status --json` and
/// every sample of `/metrics`, each by a name that stays the same from one report to the next.
enum CounterLeaves {
    /// A JSON document as a tree, whatever its shape.
    enum JSONValue: Decodable {
        case number(Double)
        case other
        case array([JSONValue])
        case object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let array = try? container.decode([JSONValue].self) {
                self = .array(array)
            } else if let object = try? container.decode([String: JSONValue].self) {
                self = .object(object)
            } else {
                self = .other  // a string, a boolean or null
            }
        }
    }

    /// Every numeric leaf of a status report by its path (`broker.connections.clients`); the elements of an
    /// array share one path (`slots[].inFlight`) and the leaf has the largest of their values.
    static func status(_ json: String) -> [String: Double]? {
        guard let tree = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else { return nil }
        var leaves: [String: Double] = [:]
        walk(tree, path: "status:", into: &leaves)
        return leaves
    }

    private static func walk(_ node: JSONValue, path: String, into leaves: inout [String: Double]) {
        switch node {
        case .number(let value): leaves[path] = max(leaves[path] ?? 0, abs(value))
        case .array(let elements): for element in elements { walk(element, path: path + "[]", into: &leaves) }
        case .object(let members): for (key, value) in members { walk(value, path: join(path, key), into: &leaves) }
        case .other: break
        }
    }

    /// `status:` + `broker` is `status:broker`; `status:broker` + `expired` is `status:broker.expired`.
    private static func join(_ path: String, _ key: String) -> String {
        path.hasSuffix(":") ? path + key : path + "." + key
    }

    /// The numeric properties of a decoded status report whose optional value is absent: the JSON leaves
    /// only show an optional number once it has a value, so these name the ones that never had one.
    static func absentNumbers(in report: StatusReport) -> Set<String> {
        var paths = Set<String>()
        absentNumbers(Mirror(reflecting: report), path: "status:", into: &paths)
        return paths
    }

    private static func absentNumbers(_ mirror: Mirror, path: String, into paths: inout Set<String>) {
        for child in mirror.children {
            guard let label = child.label else { continue }
            let childPath = join(path, label)
            let inner = Mirror(reflecting: child.value)
            if inner.displayStyle == .optional {
                if let some = inner.children.first {
                    descend(some.value, path: childPath, into: &paths)
                } else if isNumber(type(of: child.value)) {
                    paths.insert(childPath)
                }
            } else {
                descend(child.value, path: childPath, into: &paths)
            }
        }
    }

    private static func descend(_ value: Any, path: String, into paths: inout Set<String>) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .struct, .class: absentNumbers(mirror, path: path, into: &paths)
        case .collection: for element in mirror.children { descend(element.value, path: path + "[]", into: &paths) }
        default: break
        }
    }

    private static func isNumber(_ type: Any.Type) -> Bool {
        let numbers: [Any.Type] = [Int?.self, Int32?.self, Int64?.self, UInt64?.self, Double?.self, GenerationID?.self]
        return numbers.contains { $0 == type }
    }

    /// Every sample of a Prometheus text exposition by its series (`name{labels}`), except histogram buckets
    /// (some buckets stay empty by design; the family's `_count` and `_sum` stand for it).
    static func metrics(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = String(line[..<space])
            if series.split(separator: "{").first?.hasSuffix("_bucket") == true { continue }
            samples["metrics:" + series] = max(samples["metrics:" + series] ?? 0, abs(value))
        }
        return samples
    }
}
