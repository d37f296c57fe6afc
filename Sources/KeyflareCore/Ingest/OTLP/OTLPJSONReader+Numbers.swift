/// Protobuf JSON's numbers: a 64-bit integer is a JSON number or a string holding one (exponents
/// allowed when the value is whole), a double may also be `"NaN"`, `"Infinity"` or `"-Infinity"`,
/// and an enum is its number or its name.
extension OTLPJSONReader {
    /// A number token or the text of a short string (nil for a long one, which is no number).
    private mutating func numberText(_ what: String) throws -> [UInt8]? {
        if peek() == UInt8(ascii: "\"") {
            try beginString("\"\(what)\"")
            var text: [UInt8] = []
            var problem: JSONText.Problem?
            while let scalar = try stringScalar(&problem) {
                if text.count <= 64 { text.append(scalar < 0x80 ? UInt8(scalar) : 0xFF) }
            }
            return text.count <= 64 && problem == nil ? text : nil
        }
        guard let c = peek(), c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
            throw KeyflareError.badRequest("\"\(what)\" must be a number or a string holding one")
        }
        return Array(try number())
    }

    /// A whole number in JSON's number grammar, exactly: its sign and magnitude, or nil when the
    /// text is not one or its magnitude passes 2^64-1.
    static func wholeNumber(_ text: [UInt8]) -> (negative: Bool, magnitude: UInt64)? {
        var k = 0
        let negative = k < text.count && text[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        var digits: [UInt8] = []
        func isDigit() -> Bool { k < text.count && text[k] >= UInt8(ascii: "0") && text[k] <= UInt8(ascii: "9") }
        guard isDigit() else { return nil }
        if text[k] == UInt8(ascii: "0") {
            k += 1
        } else {
            while isDigit() { digits.append(text[k] - UInt8(ascii: "0")); k += 1 }
        }
        var scale = 0  // the value is digits × 10^scale
        if k < text.count, text[k] == UInt8(ascii: ".") {
            k += 1
            guard isDigit() else { return nil }
            while isDigit() { digits.append(text[k] - UInt8(ascii: "0")); scale -= 1; k += 1 }
        }
        if k < text.count, text[k] == UInt8(ascii: "e") || text[k] == UInt8(ascii: "E") {
            k += 1
            var exponentNegative = false
            if k < text.count, text[k] == UInt8(ascii: "+") || text[k] == UInt8(ascii: "-") {
                exponentNegative = text[k] == UInt8(ascii: "-")
                k += 1
            }
            guard isDigit() else { return nil }
            var exponent = 0
            while isDigit() { exponent = min(exponent * 10 + Int(text[k] - UInt8(ascii: "0")), 1_000); k += 1 }
            scale += exponentNegative ? -exponent : exponent
        }
        guard k == text.count else { return nil }
        // Digits past the point must be zeros; zeros past the end make it bigger.
        while scale < 0 {
            guard let last = digits.last else { break }
            guard last == 0 else { return nil }
            digits.removeLast()
            scale += 1
        }
        if scale < 0 { scale = 0 }  // all the digits were zeros: the value is 0
        while let lead = digits.first, lead == 0 { digits.removeFirst() }
        if digits.isEmpty { return (negative, 0) }
        guard digits.count + scale <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits + Array(repeating: 0, count: scale) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        return (negative, magnitude)
    }

    /// A `fixed64` field such as `timeUnixNano` (`null` is 0).
    mutating func unsigned64(_ what: String) throws -> UInt64 {
        if try null() { return 0 }
        guard let text = try numberText(what), let (negative, magnitude) = Self.wholeNumber(text), !negative || magnitude == 0 else {
            throw KeyflareError.badRequest("\"\(what)\" must be a whole number from 0 to 2^64-1")
        }
        return magnitude
    }

    /// An `int64` field such as `intValue` (`null` is 0).
    mutating func int64(_ what: String) throws -> Int64 {
        if try null() { return 0 }
        let range = KeyflareError.badRequest("\"\(what)\" must be a whole number from -2^63 to 2^63-1")
        guard let text = try numberText(what), let (negative, magnitude) = Self.wholeNumber(text) else { throw range }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw range }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw range }
        return Int64(magnitude)
    }

    /// A `double` field (`null` is 0).
    mutating func double(_ what: String) throws -> Double {
        if try null() { return 0 }
        let invalid = KeyflareError.badRequest("\"\(what)\" must be a number, a string holding one, \"NaN\", \"Infinity\" or \"-Infinity\"")
        guard let text = try numberText(what) else { throw invalid }
        switch text {
        case Array("NaN".utf8): return .nan
        case Array("Infinity".utf8): return .infinity
        case Array("-Infinity".utf8): return -.infinity
        default: break
        }
        // Swift's parser takes more than JSON's grammar ("0x1p3", "inf"); only JSON's counts here.
        guard Self.numberGrammar(text), let value = Double(String(decoding: text, as: UTF8.self)) else { throw invalid }
        return value
    }

    /// Whether `text` is exactly a JSON number.
    private static func numberGrammar(_ text: [UInt8]) -> Bool {
        text.withUnsafeBytes { bytes in
            var reader = OTLPJSONReader(bytes)
            guard (try? reader.number()) != nil else { return false }
            return reader.position == bytes.count
        }
    }

    /// `severityNumber`: its number, or its name (`"SEVERITY_NUMBER_INFO"`); `null` is 0.
    mutating func severityNumber() throws -> Int32 {
        if try null() { return 0 }
        let invalid = KeyflareError.badRequest("\"severityNumber\" must be a number from the SeverityNumber enum or its name")
        if peek() == UInt8(ascii: "\"") {
            guard let text = try numberText("severityNumber"), let number = Self.severityNames[String(decoding: text, as: UTF8.self)] else {
                throw invalid
            }
            return number
        }
        guard let (negative, magnitude) = Self.wholeNumber(Array(try number())), magnitude <= UInt64(Int32.max) else { throw invalid }
        return negative ? -Int32(magnitude) : Int32(magnitude)
    }

    /// `SEVERITY_NUMBER_UNSPECIFIED` is 0; `TRACE`, `TRACE2`… `FATAL4` are 1 to 24.
    private static let severityNames: [String: Int32] = {
        var names = ["SEVERITY_NUMBER_UNSPECIFIED": Int32(0)]
        for (index, level) in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].enumerated() {
            for step in 1...4 {
                names["SEVERITY_NUMBER_\(level)\(step == 1 ? "" : String(step))"] = Int32(index * 4 + step)
            }
        }
        return names
    }()
}
