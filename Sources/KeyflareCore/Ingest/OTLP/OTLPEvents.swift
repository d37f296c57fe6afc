/// The JSON array of events that both OTLP decoders write into, one log record at a time, with
/// the request's limits and its partial-success count: a record that cannot be stored is written,
/// then dropped again, and counted.
struct OTLPEvents {
    /// The events' text: `[` then the events so far.
    var out: JSONWriter
    /// Log records seen, stored or not.
    private(set) var records = 0
    /// Log records stored.
    private(set) var events = 0
    /// Log records dropped.
    private(set) var rejected = 0
    /// Why the first dropped record was dropped.
    private(set) var rejectionMessage: String?

    /// - Parameters:
    ///   - limit: most bytes of events' JSON.
    init(limit: Int) throws {
        out = JSONWriter(limit: limit)
        try out.open(UInt8(ascii: "["))
    }

    /// Starts a record (a 413 for the one past `IngestBatch.maxEvents`); pass what it returns to
    /// `endRecord`.
    mutating func beginRecord() throws -> JSONWriter.Mark {
        guard records < IngestBatch.maxEvents else {
            throw KeyflareError.payloadTooLarge(
                "more than \(IngestBatch.maxEvents) log records in one request; the limit is \(IngestBatch.maxEvents)")
        }
        records += 1
        let mark = out.mark
        if events > 0 { try out.raw(",") }
        return mark
    }

    /// Ends a record: keeps it, or drops and counts it when `problem` says it cannot be stored.
    mutating func endRecord(_ mark: JSONWriter.Mark, problem: JSONText.Problem?) {
        guard let problem else {
            events += 1
            return
        }
        out.rollBack(to: mark)
        rejected += 1
        if rejectionMessage == nil { rejectionMessage = "log record \(records - 1): \(problem.reason)" }
    }

    /// `"timestamp":…,` for a record's time in nanoseconds since the epoch, nothing for 0 (the
    /// receive time is used). `IngestBatch` reads a number by its magnitude, and only one of 1e17
    /// or more as nanoseconds, so a time before 1973-03-03 is written in seconds instead.
    mutating func timestamp(_ nanoseconds: UInt64) throws {
        guard nanoseconds > 0 else { return }
        try out.raw("\"timestamp\":")
        if nanoseconds >= 100_000_000_000_000_000 {
            try out.unsigned(nanoseconds)
        } else {
            try out.seconds(nanoseconds)
        }
        try out.raw(",")
    }

    /// The text of the events, closed.
    mutating func finish() throws -> OTLPLogs.Decoded {
        try out.close(UInt8(ascii: "]"))
        return OTLPLogs.Decoded(json: out.bytes, events: events, rejected: rejected, rejectionMessage: rejectionMessage)
    }
}
