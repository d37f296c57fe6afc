/// Writes parsed syslog frames as JSON event objects, Logflare's `to_log_params` shape, into one
/// growing buffer. Every string is escaped byte by byte from the body, so no `String` is built:
/// control characters become `\u00XX`, and what PostgreSQL's `jsonb` could not store becomes
/// U+FFFD (invalid UTF-8, by maximal subpart as `String(decoding:)` does, and NUL).
struct SyslogEventWriter {
    /// The JSON text so far.
    var out: [UInt8] = []
    /// Most bytes `out` may hold; it is checked as escapes grow the text.
    let limit: Int
    /// Whether some event embeds a JSON object found in its message.
    private(set) var embedsJSON = false

    /// A writer of at most `limit` bytes. Nothing is reserved up front: the output grows with the
    /// events found, so a body that holds none costs no more than its own bytes.
    init(limit: Int) {
        self.limit = limit
    }

    /// Logflare's names, indexed by facility (PRI / 8) and severity (PRI % 8).
    static let facilities = [
        "kernel", "user", "mail", "system", "auth", "syslogd", "line_printer", "network_news", "uucp", "clock", "auth", "ftp",
        "ntp", "log_audit", "log_alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ]
    static let severities = ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]

    /// Logflare parses the message as logfmt for these process ids (and any starting `heroku`).
    static func sendsLogfmt(_ processID: UnsafeRawBufferPointer) -> Bool {
        processID.elementsEqual("router".utf8) || processID.starts(with: "heroku".utf8)
    }

    /// Appends text that needs no escaping.
    mutating func literal(_ text: StaticString) {
        out.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// One event: `{"event_message", "timestamp", "metadata": {…}}`; missing fields are left out.
    mutating func event(_ frame: SyslogFrame, raw: Range<Int>, in bytes: UnsafeRawBufferPointer) throws {
        literal("{")
        if let message = frame.message {
            literal("\"event_message\":")
            try string(bytes, message, withoutANSI: true)
            literal(",")
        }
        if let timestamp = frame.timestamp {
            literal("\"timestamp\":")
            try string(bytes, timestamp)
            literal(",")
        }
        literal("\"metadata\":{\"priority\":")
        out.append(contentsOf: String(frame.priority).utf8)
        literal(",\"facility\":\"")
        out.append(contentsOf: Self.facilities[frame.priority / 8].utf8)
        literal("\",\"severity\":\"")
        out.append(contentsOf: Self.severities[frame.priority % 8].utf8)
        literal("\",\"level\":\"")
        out.append(contentsOf: Self.severities[frame.priority % 8].utf8)
        literal("\"")
        try member(",\"hostname\":", frame.hostname, in: bytes)
        try member(",\"appname\":", frame.appName, in: bytes)
        try member(",\"process_id\":", frame.processID, in: bytes)
        try member(",\"message_id\":", frame.messageID, in: bytes)
        try member(",\"message_text\":", frame.message, in: bytes)
        try member(",\"message_raw\":", raw, in: bytes)
        let json = frame.message.flatMap { Self.jsonObject(in: bytes, $0) }
        if frame.structuredData != nil || json != nil {
            try structuredData(bytes, frame.structuredData, json: json)
        }
        if let processID = frame.processID, let message = frame.message,
            Self.sendsLogfmt(UnsafeRawBufferPointer(rebasing: bytes[processID]))
        {
            try logfmt(bytes, message)
        }
        literal("}}")
        try checkLimit()
    }

    /// `name` and the field as a string, or nothing when the field is missing.
    private mutating func member(_ name: StaticString, _ range: Range<Int>?, in bytes: UnsafeRawBufferPointer) throws {
        guard let range else { return }
        literal(name)
        try string(bytes, range)
    }

    /// Closes the array of events.
    mutating func finish() throws {
        literal("]")
        try checkLimit()
    }

    /// `"sd": [{"id": <SD-ID>, <name>: <value>, …}, …]`, after Logflare: a JSON object in the
    /// message comes first, as `{…its members, "id": "json"}` (the last `id` wins in `jsonb`, as
    /// Logflare's `Map.put` does). The structured data was checked by `SyslogFrame`.
    private mutating func structuredData(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>?, json: Range<Int>?) throws {
        literal(",\"sd\":[")
        if let json {
            embedsJSON = true
            let inner = UnsafeRawBufferPointer(rebasing: bytes[(json.lowerBound + 1)..<(json.upperBound - 1)])
            out.append(UInt8(ascii: "{"))
            if inner.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) {
                out.append(contentsOf: inner)
                literal(",")
            }
            literal("\"id\":\"json\"}")
        }
        guard let range else { return literal("]") }
        var i = range.lowerBound
        let end = range.upperBound
        var first = json == nil
        while i < end, bytes[i] == UInt8(ascii: "[") {
            if !first { literal(",") }
            first = false
            i += 1
            var nameEnd = i
            _ = SyslogFrame.sdName(bytes, &nameEnd, end)
            literal("{\"id\":")
            try string(bytes, i..<nameEnd)
            i = nameEnd
            while i < end, bytes[i] == UInt8(ascii: " ") {
                i += 1
                nameEnd = i
                _ = SyslogFrame.sdName(bytes, &nameEnd, end)
                literal(",")
                try string(bytes, i..<nameEnd)
                literal(":")
                // `="`, then the value up to its closing quote.
                i = try quoted(bytes, from: nameEnd + 2, to: end, unescaping: Self.paramValueEscapes) + 1
            }
            i += 1  // ]
            literal("}")
        }
        literal("]")
    }

    /// `"logfmt": {…}` from `key=value`, `key="quoted \"value\""` and bare `key` (→ `true`) pairs;
    /// left out when no pair has a value, so prose from these processes gets none.
    private mutating func logfmt(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws {
        let mark = out.count
        literal(",\"logfmt\":{")
        var pairs = 0
        var valued = 0
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            guard bytes[i] > 0x20 else {
                i += 1
                continue
            }
            let keyStart = i
            while i < end, bytes[i] > 0x20, bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: "\"") { i += 1 }
            guard i > keyStart else {
                // A token that starts with `=` or `"` has no key: skip it.
                while i < end, bytes[i] > 0x20 { i += 1 }
                continue
            }
            if pairs > 0 { literal(",") }
            pairs += 1
            try string(bytes, keyStart..<i)
            literal(":")
            guard i < end, bytes[i] == UInt8(ascii: "=") else {
                literal("true")
                continue
            }
            valued += 1
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "\"") {
                // An unclosed quote runs to the end of the message.
                i = min(try quoted(bytes, from: i + 1, to: end, unescaping: Self.logfmtEscapes) + 1, end)
            } else {
                let valueStart = i
                while i < end, bytes[i] > 0x20 { i += 1 }
                try string(bytes, valueStart..<i)
            }
        }
        if valued == 0 {
            out.removeSubrange(mark...)
        } else {
            literal("}")
        }
    }

    /// Nesting a JSON object in a message may have: it is written 4 levels down (batch, event,
    /// `metadata`, `sd`), and the whole body may nest `IngestScanner.maxDepth`.
    static let maxMessageJSONDepth = IngestScanner.maxDepth - 4

    /// Logflare's `{.+}` in the message: from its first `{` to its last `}`, when that is a JSON
    /// object `IngestScanner` accepts (valid, storable in `jsonb`) and not nested too deep to embed.
    /// A root member `batch` that is not an array of objects fails that scan; such a message gets
    /// no `json` element.
    static func jsonObject(in bytes: UnsafeRawBufferPointer, _ message: Range<Int>) -> Range<Int>? {
        guard let first = bytes[message].firstIndex(of: UInt8(ascii: "{")),
            let last = bytes[first..<message.upperBound].lastIndex(of: UInt8(ascii: "}")), last > first + 1
        else { return nil }
        let range = first..<(last + 1)
        var depth = 0
        var inString = false
        var i = range.lowerBound
        while i < range.upperBound {
            let byte = bytes[i]
            if inString {
                if byte == UInt8(ascii: "\\") { i += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
                if depth > maxMessageJSONDepth { return nil }
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            }
            i += 1
        }
        guard (try? IngestScanner.scan(UnsafeRawBufferPointer(rebasing: bytes[range]), maxEvents: Int.max)) != nil else { return nil }
        return range
    }
}
