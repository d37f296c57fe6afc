import Foundation
import Mustache
import Testing

@testable import KeyflareWeb

/// Escaping for the console's HTML: by byte, so no grapheme cluster can smuggle a markup byte out.
@Suite struct HTMLEscaperTests {
    /// Each puts one of the five bytes inside a grapheme cluster with a neighbour.
    static let hostile: [String] = [
        "\u{0600}<script>alert(1)</script>",  // a prepended mark (Arabic number sign) before '<'
        "\u{110BD}<img src=x>",  // Kaithi number sign, another prepend
        "x\"\u{0301} onmouseover=alert(1) a=\"",  // a combining acute accent after '"'
        "'\u{0301}><svg>",  // after '\''
        "&\u{20DD}lt;",  // a combining enclosing circle after '&'
        "<\u{200D}b>",  // zero-width joiner after '<'
        "\u{1F469}\u{200D}<\u{200D}\u{1F4BB}",  // inside a ZWJ emoji sequence
        "'\u{1F3FD}\"\u{1F3FB}",  // emoji skin-tone modifiers after quotes
        ">\u{FE0F}<\u{FE0E}",  // variation selectors
        "\u{1100}\u{1161}<\u{11A8}",  // Hangul jamo around '<'
        "\r\n<\r\n\"",  // CR LF is one cluster
    ]

    /// Lone UTF-16 surrogates, as a JSON body may escape them (`"\ud800<x>"`) or a UTF-16 source may
    /// hold them: repaired to U+FFFD when decoded, and the markup byte beside each must still be found.
    static let fromUTF16: [String] = [
        String(decoding: [0xD800, 0x3C, 0x78, 0x3E] as [UInt16], as: UTF16.self),
        String(decoding: [0xDFFF, 0x22, 0x0301] as [UInt16], as: UTF16.self),
        String(decoding: [0xD83D, 0x27, 0x0301] as [UInt16], as: UTF16.self),
    ]

    /// The five markup bytes, as bytes: `String.contains`/`hasPrefix` compare grapheme clusters, the
    /// very thing that hides them.
    static let markup: [UInt8] = Array("<>\"'".utf8)
    static let references: [[UInt8]] = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].map { Array($0.utf8) }

    static func assertInert(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = Array(html.utf8)
        for byte in markup {
            #expect(!bytes.contains(byte), "raw \(UnicodeScalar(byte)) in \(html.debugDescription)", sourceLocation: sourceLocation)
        }
        // Every '&' starts one of the references the escaper writes.
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "&") {
            let tail = bytes[i...]
            #expect(references.contains { tail.starts(with: $0) }, "raw & in \(html.debugDescription)", sourceLocation: sourceLocation)
        }
    }

    static func unescape(_ html: String) -> [UInt8] {
        let bytes = Array(html.utf8)
        let plain: [UInt8] = Array("&<>\"'".utf8)
        var out: [UInt8] = []
        var i = 0
        outer: while i < bytes.count {
            for (n, reference) in references.enumerated() where bytes[i...].starts(with: reference) {
                out.append(plain[n])
                i += reference.count
                continue outer
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    static func containsBytes(_ haystack: String, _ needle: String) -> Bool {
        let h = Array(haystack.utf8)
        let n = Array(needle.utf8)
        guard n.count <= h.count else { return false }
        return (0...(h.count - n.count)).contains { h[$0..<($0 + n.count)].elementsEqual(n) }
    }

    @Test func jsonDecodersRefuseLoneSurrogatesAndKeepPairs() throws {
        // A lone surrogate never reaches a page through our JSON: Foundation refuses it, as does
        // PostgreSQL's jsonb. A valid pair decodes to its scalar, and the '<' beside it is escaped.
        #expect((try? JSONSerialization.jsonObject(with: Data(#"["\ud800<x>"]"#.utf8))) == nil)
        #expect((try? JSONDecoder().decode([String].self, from: Data(#"["\udfff\"y"]"#.utf8))) == nil)
        let pair = try JSONDecoder().decode([String].self, from: Data(#"["\ud83d\ude00<\u0301"]"#.utf8))
        Self.assertInert(HTMLEscaper.escape(pair[0]))
    }

    @Test func theEngineDefaultLetsClusteredMarkupThrough() throws {
        // Why we have our own: this is the bug the escaper exists for. If swift-mustache ever fixes it,
        // this test says so, and the escaper can go.
        let rendered = try MustacheTemplate(string: "{{v}}").render(["v": Self.hostile[0]])
        #expect(Self.containsBytes(rendered, "\u{0600}<script"))
        let ours = Templates.library.render(["title": Self.hostile[0], "body": ""], withTemplate: "layout") ?? ""
        #expect(!Self.containsBytes(ours, "<script>alert"))
    }

    @Test(arguments: hostile + fromUTF16)
    func everyHostileStringIsEscapedInTextAndAttributes(_ value: String) {
        Self.assertInert(HTMLEscaper.escape(value))
        // Nothing else changes: unescaping gives the value back, byte for byte.
        #expect(Self.unescape(HTMLEscaper.escape(value)) == Array(value.utf8))
    }

    @Test func plainTextIsUntouched() {
        #expect(HTMLEscaper.escape("web-logs · prod ünïcødé 🚀") == "web-logs · prod ünïcødé 🚀")
        #expect(HTMLEscaper.escape("a<b & c>\"d'") == "a&lt;b &amp; c&gt;&quot;d&#39;")
    }

    /// Every console template, partials included, renders values through the escaper: each value
    /// any template can name is set to a hostile string, in text and attribute positions alike.
    @Test(arguments: Array(Templates.sources.keys).sorted())
    func everyTemplateEscapesEveryValue(_ name: String) {
        let evil = Self.hostile.joined(separator: " ")
        var values: [String: Any] = [:]
        let template = Templates.sources[name]!
        // Every {{name}} and {{a.b}} the template uses ({{{body}}} is a page this library rendered).
        let pattern = try! NSRegularExpression(pattern: #"(?<!\{)\{\{[#^/]?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}(?!\})"#)
        let text = template as NSString
        for match in pattern.matches(in: template, range: NSRange(location: 0, length: text.length)) {
            let key = text.substring(with: match.range(at: 1))
            let parts = key.split(separator: ".").map(String.init)
            if parts.count == 2 {
                var inner = values[parts[0]] as? [String: Any] ?? [:]
                inner[parts[1]] = evil
                values[parts[0]] = inner
            } else if values[key] == nil {
                values[key] = evil
            }
        }
        let rendered = Templates.library.render(values, withTemplate: name) ?? ""
        #expect(!rendered.isEmpty)
        for needle in ["<script>alert", "<svg>", "<img src=x>", "\"\u{0301} onmouseover", "'\u{0301}>", "<\u{200D}b>"] {
            #expect(!Self.containsBytes(rendered, needle), "\(name) let \(needle.debugDescription) through")
        }
    }
}
