/// Strings, scalar by scalar, with runs of plain text handed out whole: what JSON's grammar asks of
/// them (escapes, no raw controls, UTF-8) is checked, and what `jsonb` cannot store is reported.
extension OTLPJSONReader {
    /// Consumes the opening quote of a string; `what` names it in the 400 for another value.
    mutating func beginString(_ what: @autoclosure () -> String) throws {
        guard peek() == UInt8(ascii: "\"") else { throw KeyflareError.badRequest("\(what()) must be a JSON string") }
        position += 1
    }

    /// The bytes from here on, inside a string, that stand for themselves in JSON text: valid UTF-8
    /// other than controls, `"` and `\\`. Reading these in a run, not scalar by scalar, is most of
    /// the decoder's speed.
    mutating func plainRun() -> UnsafeRawBufferPointer {
        let start = position
        while position < bytes.count {
            let c = bytes[position]
            if c >= 0x80 {
                guard let count = JSONText.sequenceLength(bytes, at: position) else { break }
                position += count
            } else if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                break
            } else {
                position += 1
            }
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }

    /// The next scalar of the string the reader is in (after `beginString`), or nil after its
    /// closing quote. `\u0000` and unpaired surrogate escapes are left out and set `problem`;
    /// raw bytes that are not UTF-8 are a 400, as they are not JSON text.
    mutating func stringScalar(_ problem: inout JSONText.Problem?) throws -> UInt32? {
        while true {
            guard position < bytes.count else { throw Self.invalid }
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return nil
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw Self.invalid }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return UInt32(e)
                case UInt8(ascii: "b"): return 0x08
                case UInt8(ascii: "f"): return 0x0C
                case UInt8(ascii: "n"): return 0x0A
                case UInt8(ascii: "r"): return 0x0D
                case UInt8(ascii: "t"): return 0x09
                case UInt8(ascii: "u"):
                    let unit = try hex4()
                    if unit == 0 {
                        problem = problem ?? .nul
                        continue
                    }
                    if (0xD800...0xDBFF).contains(unit) {
                        // A high surrogate counts only with the low one that must follow it.
                        if bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                            let save = position
                            position += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) { return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00) }
                            position = save
                        }
                        problem = problem ?? .loneSurrogate
                        continue
                    }
                    if (0xDC00...0xDFFF).contains(unit) {
                        problem = problem ?? .loneSurrogate
                        continue
                    }
                    return unit
                default:
                    throw Self.invalid
                }
            case 0x00..<0x20:
                throw Self.invalid
            case 0x20..<0x80:
                return UInt32(c)
            default:
                guard let count = JSONText.sequenceLength(bytes, at: position - 1) else { throw Self.notUTF8 }
                var value = UInt32(c) & (0xFF >> (count + 1))
                for k in 0..<(count - 1) { value = value << 6 | UInt32(bytes[position + k] & 0x3F) }
                position += count - 1
                return value
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw Self.invalid }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            position += 1
            guard let digit = Self.hexValue(c) else { throw Self.invalid }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A hex digit's value.
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
