import Foundation
import KeyflareCore
import Testing

/// Heroku log drains and RFC 5424 senders (`application/logplex-1`): frames become Logflare's
/// events, a frame that does not parse is skipped, and the output is always an ingest body.
@Suite struct SyslogParserTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    /// The output, decoded, after checking that `IngestBatch.parse` takes it with the same count.
    struct Parsed {
        let events: [[String: Any]]
        let skipped: Int
        let batch: IngestBatch

        func metadata(_ index: Int) -> [String: Any] { events[index]["metadata"] as? [String: Any] ?? [:] }
        func message(_ index: Int) -> String? { events[index]["event_message"] as? String }
    }

    func parse(
        _ text: String, _ dialect: SyslogParser.Dialect = .heroku, maxEvents: Int = IngestBatch.maxEvents,
        limit: Int = IngestBatch.maxBodyBytes
    ) throws -> Parsed {
        try parse(Array(text.utf8), dialect, maxEvents: maxEvents, limit: limit)
    }

    func parse(
        _ bytes: [UInt8], _ dialect: SyslogParser.Dialect = .heroku, maxEvents: Int = IngestBatch.maxEvents,
        limit: Int = IngestBatch.maxBodyBytes
    ) throws -> Parsed {
        let result = try bytes.withUnsafeBytes { try SyslogParser.json(from: $0, dialect: dialect, maxEvents: maxEvents, limit: limit) }
        #expect(result.json.count <= limit)
        let batch = try IngestBatch.parse(Data(result.json), receivedAt: now)
        #expect(batch.shape == .array)
        #expect(batch.count == result.events)
        let events = try #require(try JSONSerialization.jsonObject(with: Data(result.json)) as? [[String: Any]])
        #expect(events.count == result.events)
        return Parsed(events: events, skipped: result.skipped, batch: batch)
    }

    /// Octet-counted frames as logplex sends them: each count includes the line's own `\n`.
    func logplex(_ lines: String...) -> String {
        lines.map { "\($0.utf8.count + 1) \($0)\n" }.joined()
    }

    func date(_ text: String) throws -> Date { try #require(RFC3339.parse(text)) }

    @Test func aHerokuDrainBody() throws {
        let request = #"at=info method=GET path="/" host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=1ms service=18ms status=200 bytes=13 protocol=https"#
        let router = "<158>1 2012-10-11T03:47:20+00:00 host heroku router - " + request
        let app = #"<190>1 2012-10-11T03:47:20.123456+00:00 host app web.1 - Started GET "/" for 204.204.204.204 at 2012-10-11 03:47:20 +0000"#
        let postgres = "<134>1 2016-02-13T21:20:25+00:00 host app heroku-postgres - source=DATABASE sample#current_transaction=15365 sample#db_size=4347350804bytes sample#tables=43 sample#active-connections=6"
        let parsed = try parse(logplex(router, app, postgres))
        #expect(parsed.events.count == 3 && parsed.skipped == 0)

        #expect(parsed.message(0) == request)
        #expect(parsed.events[0]["timestamp"] as? String == "2012-10-11T03:47:20+00:00")
        let routerMetadata = parsed.metadata(0)
        #expect(routerMetadata["priority"] as? Int == 158)
        #expect(routerMetadata["facility"] as? String == "local3")
        #expect(routerMetadata["severity"] as? String == "info" && routerMetadata["level"] as? String == "info")
        #expect(routerMetadata["hostname"] as? String == "host" && routerMetadata["appname"] as? String == "heroku")
        #expect(routerMetadata["process_id"] as? String == "router")
        #expect(routerMetadata["message_id"] == nil && routerMetadata["sd"] == nil)
        #expect(routerMetadata["message_raw"] as? String == "\(router.utf8.count + 1) \(router)")
        let logfmt = try #require(routerMetadata["logfmt"] as? [String: Any])
        #expect(logfmt["at"] as? String == "info" && logfmt["path"] as? String == "/" && logfmt["fwd"] as? String == "204.204.204.204")
        #expect(logfmt["status"] as? String == "200" && logfmt["protocol"] as? String == "https")

        #expect(parsed.message(1) == #"Started GET "/" for 204.204.204.204 at 2012-10-11 03:47:20 +0000"#)
        #expect(parsed.metadata(1)["process_id"] as? String == "web.1")
        #expect(parsed.metadata(1)["logfmt"] == nil)

        let postgresLogfmt = try #require(parsed.metadata(2)["logfmt"] as? [String: Any])
        #expect(postgresLogfmt["source"] as? String == "DATABASE")
        #expect(postgresLogfmt["sample#db_size"] as? String == "4347350804bytes")
        #expect(postgresLogfmt["sample#active-connections"] as? String == "6")

        #expect(parsed.batch.timestamps == [
            try date("2012-10-11T03:47:20Z"), try date("2012-10-11T03:47:20.123456Z"), try date("2016-02-13T21:20:25Z"),
        ])
    }

    @Test func herokusDocumentedSampleWithItsOwnCounts() throws {
        let parsed = try parse(
            """
            83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up
            119 <40>1 2012-11-30T06:45:26+00:00 host app web.3 - Starting process with command `bundle exec rackup config.ru -p 24405`

            """)
        #expect(parsed.events.count == 2)
        #expect(parsed.message(0) == "State changed from starting to up")
        #expect(parsed.message(1) == "Starting process with command `bundle exec rackup config.ru -p 24405`")
        #expect(parsed.metadata(0)["facility"] as? String == "syslogd" && parsed.metadata(0)["severity"] as? String == "emergency")
        #expect(parsed.batch.timestamps == [Date(timeIntervalSince1970: 1_354_257_929), Date(timeIntervalSince1970: 1_354_257_926)])
    }

    @Test func structuredDataWithEscapes() throws {
        let frame = #"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="\"high\"" path="a\]b\\c\d"] BOMAn application event"#
        let parsed = try parse(frame, .rfc5424)
        let metadata = parsed.metadata(0)
        #expect(metadata["message_id"] as? String == "ID47" && metadata["process_id"] == nil)
        let sd = try #require(metadata["sd"] as? [[String: String]])
        #expect(sd == [
            ["id": "exampleSDID@32473", "iut": "3", "eventSource": "Application", "eventID": "1011"],
            // \" \] \\ stand for the byte; any other backslash is itself (RFC 5424 §6.3.3).
            ["id": "examplePriority@32473", "class": #""high""#, "path": #"a]b\c\d"#],
        ])
        #expect(parsed.message(0) == "BOMAn application event")
        #expect(metadata["message_raw"] as? String == frame)
    }

    @Test func missingFieldsAreLeftOut() throws {
        let parsed = try parse("<13>1 - - - - - - just text\n<13>1 - - - - -", .rfc5424)
        #expect(parsed.events.count == 2)
        #expect(parsed.message(0) == "just text")
        #expect(parsed.events[0]["timestamp"] == nil)
        let metadata = parsed.metadata(0)
        #expect(Set(metadata.keys) == ["priority", "facility", "severity", "level", "message_text", "message_raw"])
        // No message at all: no event_message either.
        #expect(parsed.events[1]["event_message"] == nil && parsed.metadata(1)["message_text"] == nil)
        // Without a timestamp an event gets its receive time.
        #expect(parsed.batch.timestamps == [now, now])
    }

    @Test func timestamps() throws {
        let sent = [
            "2012-11-30T06:45:29+00:00", "2024-01-01T00:00:00.123456Z", "2003-08-24T05:14:15.000003-07:00", "2024-02-29T23:59:59.5+14:00",
            "2026-12-01T10:00:00.123456789Z",
        ]
        let parsed = try parse(sent.map { "<14>1 \($0) h a p m - text\n" }.joined(), .rfc5424)
        #expect(parsed.events.map { $0["timestamp"] as? String ?? "" } == sent)
        let expected = try sent.map { try date($0) }
        #expect(parsed.batch.timestamps == expected)
        #expect(abs(parsed.batch.timestamps[1].timeIntervalSince1970 - 1_704_067_200.123456) < 0.000_001)
        // Not RFC 3339 as RFC 5424 has it: the frame is skipped, not given its receive time.
        for bad in [
            "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00+19:00",
            "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "2024-13-01T00:00:00Z", "1700000000",
        ] {
            let result = try Array("<14>1 \(bad) h a p m - x\n<14>1 - h a p m - y".utf8).withUnsafeBytes {
                try SyslogParser.json(from: $0, dialect: .rfc5424)
            }
            #expect(result.events == 1 && result.skipped == 1, "\(bad)")
        }
    }

    @Test func dialects() throws {
        let lines = "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - one\n<40>1 2012-11-30T06:45:29+00:00 host app web.3 - two\n"
        #expect(try parse(lines, .rfc5424).events.map { $0["event_message"] as? String } == ["one", "two"])
        // Heroku's routes need the count.
        #expect(throws: KeyflareError.badRequest(
            "no syslog frame in the body could be parsed: each frame must be an octet-counted RFC 5424 message, such as 83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed"
        )) { try parse(lines, .heroku) }
        // Octet-counted frames back to back, without newlines, in either dialect.
        let a = "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - first 12"
        let b = "<40>1 2012-11-30T06:45:30+00:00 host app web.3 - second"
        for dialect in [SyslogParser.Dialect.heroku, .rfc5424] {
            let parsed = try parse("\(a.utf8.count) \(a)\(b.utf8.count) \(b)", dialect)
            #expect(parsed.events.map { $0["event_message"] as? String } == ["first 12", "second"])
        }
        // The plain dialect takes counted and uncounted frames side by side.
        let mixed = try parse(logplex(a) + b + "\n", .rfc5424)
        #expect(mixed.events.count == 2 && mixed.skipped == 0)
    }

    @Test func aWrongCountFallsBackToTheLine() throws {
        let line = "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up"
        for count in [50, 81, 84, 500] {
            let parsed = try parse("\(count) \(line)\n" + logplex(line))
            #expect(parsed.message(0) == "State changed from starting to up", "\(count)")
            #expect(parsed.events.count == 2 && parsed.skipped == 0, "\(count)")
        }
    }

    @Test func blankLinesAndCRLF() throws {
        let line = "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed"
        let parsed = try parse("\r\n\r\n\(line.utf8.count + 2) \(line)\r\n  \n\n\(line.utf8.count) \(line)\r\n\r\n\t\n")
        #expect(parsed.events.count == 2 && parsed.skipped == 0)
        #expect(parsed.message(0) == "State changed" && parsed.message(1) == "State changed")
        #expect(parsed.metadata(0)["message_raw"] as? String == "\(line.utf8.count + 2) \(line)")
        let plain = try parse("\(line)\r\n\r\n\(line)\r\n", .rfc5424)
        #expect(plain.events.count == 2 && plain.message(1) == "State changed")
    }

    @Test func framesThatDoNotParseAreSkippedAndCounted() throws {
        let good = "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - ok"
        let parsed = try parse(
            logplex(
                good,
                "<192>1 2012-11-30T06:45:29+00:00 host app web.3 - priority out of range",
                "<40>123 2012-11-30T06:45:29+00:00 host app web.3 - three version digits",
                "<40>1 2012-11-30T06:45:29+00:00 host app",
                "not syslog at all",
                good))
        #expect(parsed.events.count == 2 && parsed.skipped == 4)
        #expect(throws: KeyflareError.badRequest(
            "no syslog frame in the body could be parsed: each line must be an RFC 5424 message, such as <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed"
        )) { try parse("<300>1 - - - - -\nhello\n", .rfc5424) }
        #expect(throws: KeyflareError.badRequest("the body holds no syslog frames")) { try parse(" \r\n\n", .rfc5424) }
    }

    @Test func headerFieldsAreAsLongAsRFC5424Allows() throws {
        func fields(_ host: Int, _ app: Int, _ proc: Int, _ msgid: Int) -> String {
            let x = { (n: Int) in String(repeating: "x", count: n) }
            return "<14>1 - \(x(host)) \(x(app)) \(x(proc)) \(x(msgid)) - text"
        }
        #expect(try parse(fields(255, 48, 128, 32), .rfc5424).events.count == 1)
        for frame in [fields(256, 1, 1, 1), fields(1, 49, 1, 1), fields(1, 1, 129, 1), fields(1, 1, 1, 33)] {
            #expect(throws: KeyflareError.self) { try parse(frame, .rfc5424) }
        }
        // SD names and parameter names: at most 32.
        let name32 = String(repeating: "n", count: 32)
        #expect(try parse("<14>1 - - - - - [\(name32) \(name32)=\"v\"] m", .rfc5424).metadata(0)["sd"] != nil)
        let long = try parse("<14>1 - - - - - [\(name32)n a=\"v\"] m", .rfc5424)
        #expect(long.metadata(0)["sd"] == nil && long.message(0) == "[\(name32)n a=\"v\"] m")
    }

    @Test func textThatOnlyLooksLikeStructuredDataStaysTheMessage() throws {
        let parsed = try parse(
            logplex(
                "<190>1 2020-08-09T13:30:36+00:00 host app web.1 - [info] Sent 200 in 1ms",
                "<190>1 2020-08-09T13:30:36+00:00 host app web.1 - - dash then text",
                "<190>1 2020-08-09T13:30:36+00:00 host app web.1 - -dash",
                #"<190>1 2020-08-09T13:30:36+00:00 host app web.1 - [a b="c"]glued"#))
        #expect(parsed.events.map { $0["event_message"] as? String } == ["[info] Sent 200 in 1ms", "dash then text", "-dash", #"[a b="c"]glued"#])
        #expect(parsed.events.allSatisfy { ($0["metadata"] as? [String: Any])?["sd"] == nil })
    }

    @Test func colourCodesLeaveTheEventMessage() throws {
        // Logflare's own sample, longer: its count no longer matches, so the line ends the frame.
        let text = "\u{1B}[36mweb.1  | \u{1B}[0m13:30:36.314 request_id=b4f92e4a104759b02593c34c41d2f0ce [info] Sent 200 in 1ms\u{1B}[1;31m\u{1B}[K!"
        let parsed = try parse("182 <190>1 2020-08-09T13:30:36.316601+00:00 host phx-limit phx-limit-5885669966-287kp - \(text)\n")
        #expect(parsed.message(0) == "web.1  | 13:30:36.314 request_id=b4f92e4a104759b02593c34c41d2f0ce [info] Sent 200 in 1ms!")
        #expect(parsed.metadata(0)["message_text"] as? String == text)
        #expect(parsed.metadata(0)["facility"] as? String == "local7")
    }

    @Test func aJSONObjectInTheMessageBecomesAnSDElement() throws {
        let parsed = try parse(
            logplex(
                #"<85>1 2018-10-11T22:14:15.003Z leodido - 31932 - [ex@31932 iut="3"] JSON payload: {"user": {"id": 4, "name": "John Doe"}, "request_id": 1000} trailing"#,
                #"<85>1 2018-10-11T22:14:15.003Z leodido - 31932 ID0001 {"id": 7, "ok": true}"#,
                #"<85>1 2018-10-11T22:14:15.003Z leodido - 31932 - not json: {"a": } and {}"#))
        let first = try #require(parsed.metadata(0)["sd"] as? [[String: Any]])
        #expect(first.count == 2)
        #expect(first[0]["id"] as? String == "json" && first[0]["request_id"] as? Int == 1000)
        #expect((first[0]["user"] as? [String: Any])?["name"] as? String == "John Doe")
        #expect(first[1]["id"] as? String == "ex@31932")
        // The message's own "id" gives way to "json", as Logflare's Map.put does.
        let second = try #require(parsed.metadata(1)["sd"] as? [[String: Any]])
        #expect(second.count == 1 && second[0]["id"] as? String == "json" && second[0]["ok"] as? Bool == true)
        #expect(parsed.metadata(2)["sd"] == nil)
    }

    @Test func jsonInTheMessageIsEmbeddedOnlyWhenTheBodyStaysStorable() throws {
        func nested(_ depth: Int) -> String {
            "<14>1 - - - - - - deep " + String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        }
        // Embedded four levels down (batch, event, metadata, sd), so 124 levels of its own fit.
        #expect(try parse(nested(124), .rfc5424).metadata(0)["sd"] != nil)
        #expect(try parse(nested(125), .rfc5424).metadata(0)["sd"] == nil)
        // Storable on its own but not together: numbers that expand past 10 MiB once written out.
        let numbers = "<14>1 - - - - - - {\"n\":[" + Array(repeating: "1e131071", count: 50).joined(separator: ",") + "]}\n"
        let one = try Array(numbers.utf8).withUnsafeBytes { try SyslogParser.json(from: $0, dialect: .rfc5424) }
        #expect(String(decoding: one.json, as: UTF8.self).contains(#"1e131071],"id":"json"}]"#))
        #expect(try IngestBatch.parse(Data(one.json), receivedAt: now).count == 1)
        #expect(throws: KeyflareError.payloadTooLarge(
            "the numbers in the body, written out in full, would take more than 10 MiB (exponents like 1e100000 expand)")
        ) { try parse(numbers + numbers, .rfc5424) }
    }

    @Test func invalidUTF8BecomesTheReplacementCharacter() throws {
        let message: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0x20, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0xC3, 0xA9, 0xE2, 0x82, 0xAC]
        let parsed = try parse(Array("<14>1 - - - - - - ".utf8) + message, .rfc5424)
        #expect(parsed.message(0) == String(decoding: message, as: UTF8.self))
        #expect(parsed.message(0) == "a\u{FFFD}b\u{FFFD} \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}é€")
        // A parameter value too; the header fields are ASCII or the frame is skipped.
        let sd = try parse(Array("<14>1 - - - - - [x y=\"".utf8) + [0xC0, 0xAF] + Array("\"] m".utf8), .rfc5424)
        #expect((sd.metadata(0)["sd"] as? [[String: String]])?.first?["y"] == "\u{FFFD}\u{FFFD}")
        #expect(throws: KeyflareError.self) { try parse(Array("<14>1 - h".utf8) + [0xC3, 0xA9] + Array(" - - - - m".utf8), .rfc5424) }
    }

    @Test func nulAndControlCharacters() throws {
        let parsed = try parse("<14>1 - - - - - - a\u{0}b\u{1}c\td\u{7F}\n<14>1 - - - - - [x y=\"\u{0}\"]", .rfc5424)
        // jsonb cannot store NUL: it becomes U+FFFD, so the event is kept and the body stays storable.
        #expect(parsed.message(0) == "a\u{FFFD}b\u{1}c\td\u{7F}")
        #expect((parsed.metadata(1)["sd"] as? [[String: String]])?.first?["y"] == "\u{FFFD}")
        let json = try Array("<14>1 - - - - - - a\u{1}\u{0}".utf8).withUnsafeBytes { try SyslogParser.json(from: $0, dialect: .rfc5424).json }
        #expect(String(decoding: json, as: UTF8.self).contains(#""event_message":"a\u0001\#u{FFFD}""#))
        // NUL in a header field: not RFC 5424, skipped.
        #expect(throws: KeyflareError.self) { try parse("<14>1 - h\u{0}st - - - - m", .rfc5424) }
    }

    @Test func aLeadingBOMIsDropped() throws {
        let parsed = try parse("<14>1 - - - - - - \u{FEFF}'su root' failed\n<14>1 - - - - - - \u{FEFF}", .rfc5424)
        #expect(parsed.message(0) == "'su root' failed")
        #expect(parsed.metadata(0)["message_text"] as? String == "'su root' failed")
        #expect(parsed.metadata(0)["message_raw"] as? String == "<14>1 - - - - - - \u{FEFF}'su root' failed")
        #expect(parsed.message(1) == nil)
    }

    @Test func aHugeOctetCountNeitherOverflowsNorAllocates() throws {
        let parsed = try parse("99999999999999999999 <1>1 - - - - - - hi\n99999999999999999999999999999999999999 <1>1 - - - - - - ho")
        #expect(parsed.events.map { $0["event_message"] as? String } == ["hi", "ho"])
        #expect(parsed.metadata(0)["message_raw"] as? String == "99999999999999999999 <1>1 - - - - - - hi")
        #expect(throws: KeyflareError.self) { try parse(String(repeating: "9", count: 100_000)) }
    }

    @Test func tooManyEvents() throws {
        let frame = "<14>1 - - - - - - x\n"
        #expect(try parse(String(repeating: frame, count: 3), .rfc5424, maxEvents: 3).events.count == 3)
        #expect(throws: KeyflareError.payloadTooLarge("more than 3 events in one request; the limit is 3")) {
            try parse(String(repeating: frame, count: 4), .rfc5424, maxEvents: 3)
        }
        #expect(throws: KeyflareError.payloadTooLarge("more than 10000 events in one request; the limit is 10000")) {
            try parse(String(repeating: frame, count: IngestBatch.maxEvents + 1), .rfc5424)
        }
        // Skipped frames are not events.
        #expect(try parse(String(repeating: "junk\n", count: 10) + String(repeating: frame, count: 3), .rfc5424, maxEvents: 3).skipped == 10)
    }

    @Test func theOutputIsBounded() throws {
        let frame = "<14>1 2024-01-01T00:00:00Z host app proc - hello\n"
        let size = try Array(frame.utf8).withUnsafeBytes { try SyslogParser.json(from: $0, dialect: .rfc5424).json.count }
        #expect(try parse(frame, .rfc5424, limit: size).events.count == 1)
        #expect(throws: KeyflareError.payloadTooLarge("the syslog frames in the body take more than \(size - 1) bytes as JSON events")) {
            try parse(frame, .rfc5424, limit: size - 1)
        }
        // Control characters grow sixfold as \u00XX, and the message is written twice: refused as
        // it grows, not after.
        let controls = "<14>1 - - - - - - " + String(repeating: "\u{1}", count: 100_000)
        #expect(throws: KeyflareError.payloadTooLarge("the syslog frames in the body take more than 1000000 bytes as JSON events")) {
            try parse(controls, .rfc5424, limit: 1_000_000)
        }
    }
}
