/// The member names the OTLP JSON decoder reads, by their lowerCamelCase JSON names; each also
/// answers to its proto field name, as protobuf's JSON parsers accept both. Every other name is
/// `other`, and its value is skipped.
enum OTLPJSONName: String, CaseIterable {
    case resourceLogs, resource, scopeLogs, scope, logRecords
    case attributes, name, version, key, value, values
    case timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body, traceId, spanId, eventName
    case stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue
    case other

    /// The longest name, in bytes: a longer one is none of these.
    static let longest = allCases.map { max($0.rawValue.utf8.count, $0.protoName.utf8.count) }.max() ?? 0

    /// The proto field name: `time_unix_nano` for `timeUnixNano`.
    var protoName: String {
        var name = ""
        for character in rawValue {
            if character.isUppercase {
                name += "_" + character.lowercased()
            } else {
                name.append(character)
            }
        }
        return name
    }

    /// Every name and alias, by length: a lookup compares a few byte arrays and hashes nothing.
    private static let byLength: [[([UInt8], OTLPJSONName)]] = {
        var table = [[([UInt8], OTLPJSONName)]](repeating: [], count: longest + 1)
        for name in allCases where name != .other {
            for spelling in Set([name.rawValue, name.protoName]) {
                table[spelling.utf8.count].append((Array(spelling.utf8), name))
            }
        }
        return table
    }()

    /// The name these bytes spell, or `other`.
    /// - Parameters:
    ///   - utf8: the member name.
    init(utf8: [UInt8]) {
        guard utf8.count <= Self.longest else {
            self = .other
            return
        }
        self = Self.byLength[utf8.count].first { $0.0 == utf8 }?.1 ?? .other
    }

    /// This name's bit in a set of names seen.
    var bit: UInt64 { 1 << UInt64(Self.allCases.firstIndex(of: self) ?? 0) }
}

/// The names already seen in one object: OTLP JSON sends each field once (protobuf's JSON parsers
/// refuse a field sent twice, under either of its names), so a second one is a 400.
struct OTLPJSONSeen {
    private var bits: UInt64 = 0

    /// Notes `name`, or refuses it when it was seen before.
    mutating func once(_ name: OTLPJSONName) throws {
        guard bits & name.bit == 0 else {
            throw KeyflareError.badRequest("the field \"\(name.rawValue)\" appears twice in one object")
        }
        bits |= name.bit
    }

    /// Whether `name` was seen.
    func contains(_ name: OTLPJSONName) -> Bool { bits & name.bit != 0 }
}
