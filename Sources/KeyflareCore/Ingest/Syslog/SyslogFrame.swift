/// One RFC 5424 message, parsed where it lies in the body: every field is a range of the body's
/// bytes, so nothing is copied until the event is written, and a frame that does not parse costs
/// no allocation at all.
///
/// `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID [SP SD] [SP MSG]`, where
/// `-` stands for a missing field. The structured data is optional in both dialects (Heroku sends
/// none), so a message that only looks like structured data (`[info] …`) stays the message.
struct SyslogFrame {
    /// 0–191: facility × 8 + severity.
    var priority: Int
    var timestamp: Range<Int>?
    var hostname: Range<Int>?
    var appName: Range<Int>?
    var processID: Range<Int>?
    var messageID: Range<Int>?
    /// One or more `[id name="value" …]` elements, checked against the grammar.
    var structuredData: Range<Int>?
    /// The text after the header, a leading UTF-8 BOM dropped; nil when there is none.
    var message: Range<Int>?

    /// Parses `bytes[start..<end]` (already trimmed), or returns nil when it is not an RFC 5424
    /// message. Every field is as long as RFC 5424 allows and no longer.
    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> SyslogFrame? {
        var i = start
        guard i < end, bytes[i] == UInt8(ascii: "<") else { return nil }
        i += 1
        guard let priority = number(bytes, &i, end, maxDigits: 3), priority <= 191 else { return nil }
        guard i < end, bytes[i] == UInt8(ascii: ">") else { return nil }
        i += 1
        // VERSION: one or two digits, as Logflare reads it (RFC 5424 only ever defined 1).
        guard number(bytes, &i, end, maxDigits: 2) != nil, i < end, bytes[i] == space else { return nil }
        i += 1
        guard let timestamp = field(bytes, &i, end, maxLength: 35) else { return nil }
        if let timestamp, !isTimestamp(bytes, timestamp) { return nil }
        guard space(bytes, &i, end), let hostname = field(bytes, &i, end, maxLength: 255),
            space(bytes, &i, end), let appName = field(bytes, &i, end, maxLength: 48),
            space(bytes, &i, end), let processID = field(bytes, &i, end, maxLength: 128),
            space(bytes, &i, end), let messageID = field(bytes, &i, end, maxLength: 32)
        else { return nil }
        var frame = SyslogFrame(
            priority: priority, timestamp: timestamp, hostname: hostname, appName: appName, processID: processID, messageID: messageID)
        i += 1  // the space that ended MSGID
        guard i < end else { return frame }
        if bytes[i] == UInt8(ascii: "-"), i + 1 == end || bytes[i + 1] == space {
            i = min(i + 2, end)
        } else if bytes[i] == UInt8(ascii: "["), let sdEnd = structuredDataEnd(bytes, from: i, to: end),
            sdEnd == end || bytes[sdEnd] == space
        {
            frame.structuredData = i..<sdEnd
            i = min(sdEnd + 1, end)
        }
        if i + 3 <= end, bytes[i] == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF { i += 3 }
        if i < end { frame.message = i..<end }
        return frame
    }

    private static let space = UInt8(ascii: " ")

    private static func space(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) -> Bool {
        guard i < end, bytes[i] == space else { return false }
        i += 1
        return true
    }

    /// 1 to `maxDigits` decimal digits.
    private static func number(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int, maxDigits: Int) -> Int? {
        var value = 0
        let from = i
        while i < end, i - from < maxDigits, let digit = digit(bytes[i]) {
            value = value * 10 + digit
            i += 1
        }
        return i > from ? value : nil
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// A header field: 1 to `maxLength` printable US-ASCII bytes up to the next space. The outer
    /// optional is nil when the field is malformed, the inner one when it is `-`.
    private static func field(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int, maxLength: Int) -> Range<Int>?? {
        let from = i
        while i < end, bytes[i] != space {
            guard i - from < maxLength, bytes[i] >= 33, bytes[i] <= 126 else { return nil }
            i += 1
        }
        if i == from { return nil }
        if i - from == 1, bytes[from] == UInt8(ascii: "-") { return .some(nil) }
        return from..<i
    }

    /// Where the structured data that starts at `start` ends, or nil when it is malformed. Each
    /// element needs at least one parameter, as in Logflare, so bracketed text is not taken for one.
    private static func structuredDataEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var i = start
        while i < end, bytes[i] == UInt8(ascii: "[") {
            i += 1
            guard sdName(bytes, &i, end) else { return nil }
            var parameters = 0
            while i < end, bytes[i] == space {
                i += 1
                guard sdName(bytes, &i, end), i + 1 < end, bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: "\"")
                else { return nil }
                guard let valueEnd = paramValueEnd(bytes, from: i + 2, to: end) else { return nil }
                i = valueEnd + 1
                parameters += 1
            }
            guard parameters > 0, i < end, bytes[i] == UInt8(ascii: "]") else { return nil }
            i += 1
        }
        return i
    }

    /// SD-NAME: 1 to 32 printable US-ASCII bytes other than `=`, space, `]` and `"`.
    static func sdName(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int) -> Bool {
        let from = i
        while i < end, i - from <= 32, bytes[i] >= 33, bytes[i] <= 126, bytes[i] != UInt8(ascii: "="),
            bytes[i] != UInt8(ascii: "]"), bytes[i] != UInt8(ascii: "\"")
        {
            i += 1
        }
        return i > from && i - from <= 32
    }

    /// The index of the `"` that closes a PARAM-VALUE starting at `start` (after its opening quote).
    /// A backslash always takes the next byte with it, so `\"` never closes the value.
    static func paramValueEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var i = start
        while i < end {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    /// RFC 3339 as RFC 5424 narrows it (upper-case `T` and `Z`, no leap second), with 1 to 9
    /// fraction digits and an offset within ±18:00: exactly what `RFC3339.parse` reads, so an event
    /// never carries a timestamp that is then silently replaced by its receive time.
    static func isTimestamp(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let t = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard t.count >= 20 else { return false }
        func value(_ at: Int, _ count: Int) -> Int? {
            var v = 0
            for k in at..<(at + count) {
                guard k < t.count, let d = digit(t[k]) else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = value(0, 4), t[4] == UInt8(ascii: "-"), let month = value(5, 2), t[7] == UInt8(ascii: "-"),
            let day = value(8, 2), t[10] == UInt8(ascii: "T"), let hour = value(11, 2), t[13] == UInt8(ascii: ":"),
            let minute = value(14, 2), t[16] == UInt8(ascii: ":"), let second = value(17, 2)
        else { return false }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month, year), hour <= 23, minute <= 59, second <= 59 else {
            return false
        }
        var i = 19
        if t[i] == UInt8(ascii: ".") {
            i += 1
            let from = i
            while i < t.count, digit(t[i]) != nil { i += 1 }
            guard (1...9).contains(i - from) else { return false }
        }
        guard i < t.count else { return false }
        if t[i] == UInt8(ascii: "Z") { return i + 1 == t.count }
        guard t[i] == UInt8(ascii: "+") || t[i] == UInt8(ascii: "-"), i + 6 == t.count, let offsetHour = value(i + 1, 2),
            t[i + 3] == UInt8(ascii: ":"), let offsetMinute = value(i + 4, 2)
        else { return false }
        return offsetMinute <= 59 && (offsetHour < 18 || offsetHour == 18 && offsetMinute == 0)
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
