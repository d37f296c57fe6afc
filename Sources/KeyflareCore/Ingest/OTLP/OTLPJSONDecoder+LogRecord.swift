extension OTLPJSONDecoder {
    /// One `LogRecord` object, written as its members come: what it lacks is filled in at its end,
    /// and `event_message` is the body's string copied (or `eventName`, read again from where it is).
    mutating func logRecord(depth: Int, resource: JSONWriter, scope: JSONWriter, problem inherited: JSONText.Problem?) throws {
        let mark = try events.beginRecord()
        var problem = inherited
        try reader.beginObject(depth: depth, "a LogRecord")
        try events.out.open(UInt8(ascii: "{"))
        var first = true
        var seen = OTLPJSONSeen()
        var time: UInt64 = 0
        var observedTime: UInt64 = 0
        var severityNumber: Int32 = 0
        var bodyText: Range<Int>?
        var eventName: Int?
        while let name = try reader.nextMember(&first) {
            switch name {
            case .timeUnixNano, .observedTimeUnixNano, .severityNumber, .severityText, .body, .attributes, .traceId, .spanId,
                .eventName:
                try seen.once(name)
            default:
                try reader.skip(depth: depth + 1)
                continue
            }
            switch name {
            case .timeUnixNano:
                time = try reader.unsigned64(name.rawValue)
            case .observedTimeUnixNano:
                observedTime = try reader.unsigned64(name.rawValue)
            case .severityNumber:
                severityNumber = try reader.severityNumber()
            case .severityText:
                try events.out.raw("\"severity_text\":")
                try reader.string(into: &events.out, name.rawValue, problem: &problem)
            case .traceId, .spanId:
                try events.out.raw(name == .traceId ? "\"trace_id\":" : "\"span_id\":")
                try reader.hexString(into: &events.out, name.rawValue)
            case .body:
                try events.out.raw("\"body\":")
                let start = events.out.bytes.count
                if try reader.anyValue(depth: depth + 1, into: &events.out, problem: &problem) {
                    bodyText = start..<events.out.bytes.count
                }
            case .attributes:
                try events.out.raw("\"attributes\":")
                try reader.attributes(depth: depth + 1, into: &events.out, problem: &problem)
            default:  // eventName
                if try reader.null() { continue }
                eventName = reader.position
                try reader.checkString(name.rawValue)
                continue
            }
            if name != .timeUnixNano, name != .observedTimeUnixNano, name != .severityNumber { try events.out.raw(",") }
        }
        let end = reader.position
        if !seen.contains(.severityText) { try events.out.raw("\"severity_text\":\"\",") }
        if !seen.contains(.traceId) { try events.out.raw("\"trace_id\":\"\",") }
        if !seen.contains(.spanId) { try events.out.raw("\"span_id\":\"\",") }
        if !seen.contains(.body) { try events.out.raw("\"body\":null,") }
        if !seen.contains(.attributes) { try events.out.raw("\"attributes\":{},") }
        try events.out.raw("\"severity_number\":")
        try events.out.integer(Int64(severityNumber))
        try events.out.raw(",")
        try events.timestamp(time != 0 ? time : observedTime)
        try events.out.raw("\"event_message\":")
        if let bodyText {
            try events.out.appendCopy(of: bodyText)
        } else if let eventName {
            reader.position = eventName
            try reader.string(into: &events.out, "eventName", problem: &problem)
            reader.position = end
        } else {
            try events.out.raw("\"\"")
        }
        // A record already known to be dropped does not copy the shared parts: a large resource
        // copied once per dropped record would cost its size times 10,000.
        if problem == nil {
            try events.out.raw(",\"scope\":")
            try events.out.append(scope)
            try events.out.raw(",\"resource\":")
            try events.out.append(resource)
        }
        try events.out.raw(",\"metadata\":{\"type\":\"otel_log\"}")
        try events.out.close(UInt8(ascii: "}"))
        events.endRecord(mark, problem: problem)
    }
}
