import Mustache

/// HTML escaping by UTF-8 byte, for text and for quoted attribute values.
///
/// swift-mustache's own escaper looks each `Character` (a whole grapheme cluster) up in a table of
/// `< > & " '`, so a `<` that forms one cluster with a neighbouring mark is not found and is written
/// raw. Working on bytes, each of the five ASCII bytes is replaced wherever it stands; every other
/// byte, including each byte of a multi-byte scalar, is copied as it is. UTF-8 never uses a byte below
/// 0x80 inside a multi-byte sequence, so this can neither split a scalar nor miss one of the five.
public struct HTMLEscaper: MustacheContentType {
    /// The name templates use in `{{% CONTENT_TYPE: … }}`.
    public static let contentTypeName = "HTML_BY_BYTE"

    public init() {}

    public func escapeText(_ text: String) -> String { Self.escape(text) }

    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references.
    /// - Parameters:
    ///   - text: any string.
    public static func escape(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: needsEscape) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }
}
