/// The values of events that are not plain strings: ids in hex, bytes in base64, and numbers, each
/// counted as `IngestScanner` counts what a number gains when PostgreSQL writes it out in full.
extension JSONWriter {
    /// Bytes as a string of lower-case hex digits (trace and span ids).
    mutating func hexString(_ data: UnsafeRawBufferPointer) throws {
        try ensure(2 + 2 * data.count)
        bytes.append(UInt8(ascii: "\""))
        for byte in data {
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0xF)])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Bytes as a string of standard base64 with padding (RFC 4648 §4).
    mutating func base64String(_ data: UnsafeRawBufferPointer) throws {
        try ensure(2 + (data.count + 2) / 3 * 4)
        bytes.append(UInt8(ascii: "\""))
        var k = 0
        while k < data.count {
            let b0 = UInt32(data[k])
            let b1 = k + 1 < data.count ? UInt32(data[k + 1]) : 0
            let b2 = k + 2 < data.count ? UInt32(data[k + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            bytes.append(Self.base64Digits[Int(group >> 18 & 0x3F)])
            bytes.append(Self.base64Digits[Int(group >> 12 & 0x3F)])
            bytes.append(k + 1 < data.count ? Self.base64Digits[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            bytes.append(k + 2 < data.count ? Self.base64Digits[Int(group & 0x3F)] : UInt8(ascii: "="))
            k += 3
        }
        bytes.append(UInt8(ascii: "\""))
    }

    // MARK: - Numbers

    /// An integer.
    mutating func integer(_ value: Int64) throws {
        try unsigned(value.magnitude, negative: value < 0)
    }

    /// A non-negative integer, or its negative.
    mutating func unsigned(_ magnitude: UInt64, negative: Bool = false) throws {
        try ensure(21)  // "-" and the 20 digits of 2^64-1
        let start = bytes.count
        if negative { bytes.append(UInt8(ascii: "-")) }
        let first = bytes.count
        var rest = magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes[first...].reverse()
        let digits = bytes.count - first
        try counted(integerDigits: magnitude == 0 ? 0 : digits, fractionDigits: 0, exponent: 0, length: bytes.count - start)
    }

    /// A double as its shortest round-trip text; NaN and the infinities, which JSON has no number
    /// for, as `null`.
    mutating func double(_ value: Double) throws {
        guard value.isFinite else { return try raw("null") }
        // Swift writes "1.5", "1e+16", "5e-324", "-0.0": all JSON numbers.
        let text = Array(value.description.utf8)
        try ensure(text.count)
        bytes.append(contentsOf: text)
        try counted(text)
    }

    /// Nanoseconds as seconds with nine decimals, such as `86400.000000001`.
    mutating func seconds(_ nanoseconds: UInt64) throws {
        var text = Array(String(nanoseconds / 1_000_000_000).utf8)
        let fraction = String(nanoseconds % 1_000_000_000)
        text.append(UInt8(ascii: "."))
        text.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 9 - fraction.utf8.count))
        text.append(contentsOf: fraction.utf8)
        try ensure(text.count)
        bytes.append(contentsOf: text)
        try counted(text)
    }

    /// A number text just written: counts what it gains as `numeric` text, as `IngestScanner` does.
    private mutating func counted(_ text: [UInt8]) throws {
        var k = 0
        if k < text.count, text[k] == UInt8(ascii: "-") { k += 1 }
        func digits() -> Int {
            let from = k
            while k < text.count, text[k] >= UInt8(ascii: "0"), text[k] <= UInt8(ascii: "9") { k += 1 }
            return k - from
        }
        var integerDigits = 0
        if k < text.count, text[k] == UInt8(ascii: "0") { k += 1 } else { integerDigits = digits() }
        var fractionDigits = 0
        if k < text.count, text[k] == UInt8(ascii: ".") {
            k += 1
            fractionDigits = digits()
        }
        var exponent = 0
        if k < text.count, text[k] == UInt8(ascii: "e") || text[k] == UInt8(ascii: "E") {
            k += 1
            let negative = k < text.count && text[k] == UInt8(ascii: "-")
            if k < text.count, text[k] == UInt8(ascii: "-") || text[k] == UInt8(ascii: "+") { k += 1 }
            while k < text.count, text[k] >= UInt8(ascii: "0"), text[k] <= UInt8(ascii: "9") {
                exponent = min(exponent * 10 + Int(text[k] - UInt8(ascii: "0")), 10_000_000)
                k += 1
            }
            if negative { exponent = -exponent }
        }
        try counted(integerDigits: integerDigits, fractionDigits: fractionDigits, exponent: exponent, length: text.count)
    }

    private mutating func counted(integerDigits: Int, fractionDigits: Int, exponent: Int, length: Int) throws {
        let written = 2 + max(integerDigits + exponent, 1) + max(fractionDigits - exponent, 0)
        expansion += max(written - length, 0)
        try checkExpansion()
    }

    func checkExpansion() throws {
        guard expansion <= IngestScanner.maxExpansionBytes else {
            throw KeyflareError.payloadTooLarge(
                "the numbers in the log records, written out in full, would take more than 10 MiB")
        }
    }
}
