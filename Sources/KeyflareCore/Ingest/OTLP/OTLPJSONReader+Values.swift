/// The OTLP JSON strings the decoder writes into events: text, hex ids and base64 bytes. Each
/// reads one value and writes its event form into `out`; a string that cannot be stored sets
/// `problem` (the record is dropped), anything else wrong is a 400.
extension OTLPJSONReader {
    /// A string field (`null` is `""`).
    mutating func string(into out: inout JSONWriter, _ what: String, problem: inout JSONText.Problem?) throws {
        if try null() { return try out.raw("\"\"") }
        try beginString("\"\(what)\"")
        try out.raw("\"")
        while true {
            try out.verbatim(plainRun())
            guard let scalar = try stringScalar(&problem) else { break }
            try out.scalar(scalar)
        }
        try out.raw("\"")
    }

    /// A string field read only to check it (written later, from where it starts).
    mutating func checkString(_ what: String) throws {
        try beginString("\"\(what)\"")
        var problem: JSONText.Problem?
        repeat { _ = plainRun() } while try stringScalar(&problem) != nil
    }

    /// `traceId` or `spanId`: hex digits (either case), written in lower case.
    mutating func hexString(into out: inout JSONWriter, _ what: String) throws {
        if try null() { return try out.raw("\"\"") }
        try beginString("\"\(what)\"")
        try out.raw("\"")
        var count = 0
        var problem: JSONText.Problem?
        while let scalar = try stringScalar(&problem) {
            guard scalar < 0x80, let digit = Self.hexValue(UInt8(scalar)) else {
                throw KeyflareError.badRequest("\"\(what)\" must be hex digits")
            }
            _ = digit
            try out.scalar((0x41...0x46).contains(scalar) ? scalar + 0x20 : scalar)  // A-F as a-f
            count += 1
        }
        guard count % 2 == 0, problem == nil else { throw KeyflareError.badRequest("\"\(what)\" must be hex digits, two per byte") }
        try out.raw("\"")
    }

    /// `bytesValue`: base64, standard or URL-safe, padded or not; written as standard base64.
    mutating func base64(into out: inout JSONWriter) throws {
        let invalid = KeyflareError.badRequest("\"bytesValue\" must be base64")
        try beginString("\"bytesValue\"")
        var data: [UInt8] = []
        var bits: UInt32 = 0
        var sextets = 0
        var padding = 0
        var problem: JSONText.Problem?
        while let scalar = try stringScalar(&problem) {
            let value: UInt32
            switch scalar {
            case 0x41...0x5A: value = scalar - 0x41  // A-Z
            case 0x61...0x7A: value = scalar - 0x61 + 26  // a-z
            case 0x30...0x39: value = scalar - 0x30 + 52  // 0-9
            case 0x2B, 0x2D: value = 62  // + -
            case 0x2F, 0x5F: value = 63  // / _
            case 0x3D:  // =
                padding += 1
                continue
            default: throw invalid
            }
            guard padding == 0 else { throw invalid }
            bits = bits << 6 | value
            sextets += 1
            if sextets % 4 == 0 {
                data.append(UInt8(truncatingIfNeeded: bits >> 16))
                data.append(UInt8(truncatingIfNeeded: bits >> 8))
                data.append(UInt8(truncatingIfNeeded: bits))
                bits = 0
            }
        }
        switch sextets % 4 {
        case 2: data.append(UInt8(truncatingIfNeeded: bits >> 4))
        case 3:
            data.append(UInt8(truncatingIfNeeded: bits >> 10))
            data.append(UInt8(truncatingIfNeeded: bits >> 2))
        case 1: throw invalid
        default: break
        }
        guard problem == nil, padding == 0 || (sextets + padding) % 4 == 0 && padding <= 2 else { throw invalid }
        try data.withUnsafeBytes { try out.base64String($0) }
    }
}
