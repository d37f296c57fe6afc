/// Turns a body of syslog frames (`application/logplex-1`: Heroku log drains, and RFC 5424 senders)
/// into a JSON array of events, in the shape of Logflare's `LogflareWeb.SyslogParser`:
///
/// ```
/// {"event_message": <the message, colour codes dropped>, "timestamp": <TIMESTAMP as sent>,
///  "metadata": {"priority", "facility", "severity", "level", "hostname", "appname", "process_id",
///               "message_id", "message_text", "message_raw", "sd": [{"id": …, <param>: …}], "logfmt": {…}}}
/// ```
///
/// A field that is missing (`-`, or no message) is left out rather than written as `null`; without
/// a `timestamp` the event gets its receive time. `logfmt` is there only for Heroku's own processes
/// (`router`, `heroku-postgres`, `heroku-redis`, any `heroku…`), as in Logflare.
///
/// One pass over the body, no allocation per frame beyond the output, and every field as long as
/// RFC 5424 allows. A frame that does not parse is skipped and counted, as Logflare drops it.
public enum SyslogParser {
    /// How frames are told apart.
    public enum Dialect: Sendable {
        /// Each frame on its own line, or octet-counted (RFC 6587), as each sender likes
        /// (`/logs/syslogs`).
        case rfc5424
        /// Every frame octet-counted, as Heroku's logplex sends them (`/logs/logplex`, `/logs/syslog`);
        /// a line without its count is skipped.
        case heroku
    }

    /// Parses a body of syslog frames into JSON text: an array of event objects, for
    /// `IngestBatch.parse`.
    ///
    /// A frame is `<count> SP <message>` or, where the dialect allows, a line. The count is trusted
    /// when it fits: the bytes after it end the body, a line, or start the next counted frame
    /// (Heroku counts each line's own `\n`). Otherwise the frame runs to the end of its line.
    /// Blank lines are skipped and `\r\n` is accepted. Invalid UTF-8 and NUL in a message or a
    /// parameter value become U+FFFD (RFC 5424 lets a message without a BOM hold any bytes, and
    /// `jsonb` can store neither); a leading BOM is dropped from the message.
    /// - Parameters:
    ///   - body: the bytes (already decompressed).
    ///   - dialect: whether every frame must be octet-counted.
    ///   - maxEvents: most events; one more is a 413.
    ///   - limit: most bytes of JSON written; more is a 413.
    /// - Returns: the JSON, how many events it holds, and how many frames were skipped.
    public static func json(
        from body: UnsafeRawBufferPointer, dialect: Dialect, maxEvents: Int = IngestBatch.maxEvents,
        limit: Int = IngestBatch.maxBodyBytes
    ) throws -> (json: [UInt8], events: Int, skipped: Int) {
        guard body.count <= IngestBatch.maxBodyBytes else {
            throw KeyflareError.payloadTooLarge("the request body is over \(IngestBatch.maxBodyBytes / 1024 / 1024) MiB")
        }
        var writer = SyslogEventWriter(limit: limit)
        writer.literal("[")
        var events = 0
        var skipped = 0
        var i = 0
        let end = body.count
        while i < end {
            guard !isSpace(body[i]) else {
                i += 1
                continue
            }
            let frame = next(in: body, at: i)
            i = frame.next
            guard frame.counted || dialect == .rfc5424 else {
                skipped += 1
                continue
            }
            var to = frame.end
            while to > frame.start, isSpace(body[to - 1]) { to -= 1 }
            guard let parsed = SyslogFrame.parse(body, from: frame.start, to: to) else {
                skipped += 1
                continue
            }
            guard events < maxEvents else {
                throw KeyflareError.payloadTooLarge("more than \(maxEvents) events in one request; the limit is \(maxEvents)")
            }
            if events > 0 { writer.literal(",") }
            // message_raw is the frame as Logflare keeps it: the trimmed line, its count included.
            try writer.event(parsed, raw: frame.raw..<to, in: body)
            events += 1
        }
        guard events > 0 else {
            throw KeyflareError.badRequest(
                skipped == 0 ? "the body holds no syslog frames" : "no syslog frame in the body could be parsed: \(dialect.expected)")
        }
        try writer.finish()
        if writer.embedsJSON {
            // Each embedded object was scanned on its own; the numbers of all of them together may
            // still expand past what IngestScanner allows one body, so check the whole once.
            _ = try writer.out.withUnsafeBytes { try IngestScanner.scan($0, maxEvents: maxEvents) }
        }
        return (writer.out, events, skipped)
    }

    /// Where the frame that starts at `start` lies: `raw` includes its octet count, `start..<end`
    /// is the message, and the one after it starts at `next`.
    private static func next(in body: UnsafeRawBufferPointer, at start: Int) -> (raw: Int, start: Int, end: Int, next: Int, counted: Bool) {
        let end = body.count
        var i = start
        var count = 0
        while i < end, let digit = digit(body[i]) {
            // Past the body's size the count cannot fit anyway; stop growing it (no overflow).
            if count <= end { count = count * 10 + digit }
            i += 1
        }
        guard i > start, i < end, body[i] == UInt8(ascii: " ") else {
            let lineEnd = endOfLine(body, from: start)
            return (start, start, lineEnd, lineEnd + 1, false)
        }
        let message = i + 1
        if count > 0, count <= end - message {
            // A frame never spans lines (Logflare splits the body at each `\n` first), but Heroku's
            // count takes in the line's own `\n`. Only the counted bytes are searched, so frames
            // back to back on one line cost no more than their length.
            let frameEnd = message + count
            let newline = body[message..<frameEnd].firstIndex(of: 0x0A)
            if newline == nil || newline == frameEnd - 1, fits(body, frameEnd) {
                return (start, message, frameEnd, frameEnd, true)
            }
        }
        let lineEnd = endOfLine(body, from: message)
        return (start, message, lineEnd, lineEnd + 1, true)
    }

    /// Whether a counted frame may end at `i`: at the end of the body or of a line, or where the
    /// next counted frame begins (`<digits> <`).
    private static func fits(_ body: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        if i == body.count || body[i - 1] == 0x0A || body[i] == 0x0A || body[i] == 0x0D { return true }
        var j = i
        // A count that fits a 10 MiB body has at most 8 digits.
        while j < body.count, j - i < 9, digit(body[j]) != nil { j += 1 }
        return j > i && j + 1 < body.count && body[j] == UInt8(ascii: " ") && body[j + 1] == UInt8(ascii: "<")
    }

    private static func endOfLine(_ body: UnsafeRawBufferPointer, from start: Int) -> Int {
        body[start...].firstIndex(of: 0x0A) ?? body.count
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// ASCII white space, which Logflare trims from each line.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}

extension SyslogParser.Dialect {
    /// What a frame looks like, for the refusal when none parses.
    fileprivate var expected: String {
        switch self {
        case .rfc5424:
            "each line must be an RFC 5424 message, such as <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed"
        case .heroku:
            "each frame must be an octet-counted RFC 5424 message, such as 83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed"
        }
    }
}
