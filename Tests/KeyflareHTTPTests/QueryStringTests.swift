import KeyflareCore
import Testing

@testable import KeyflareHTTP

/// Query strings decode as HTML forms, URLSearchParams and Python's requests encode them.
@Suite struct QueryStringTests {
    @Test func plusIsASpaceAndPercentEscapesAreBytes() {
        let query = QueryString("level=a+b&name=caf%C3%A9+bar&plus=%2B&empty=&flag&bad=%zz%4")
        #expect(query["level"] == "a b")
        #expect(query["name"] == "café bar")
        #expect(query["plus"] == "+")
        #expect(query["empty"] == "")
        #expect(query["flag"] == "")
        #expect(query["bad"] == "%zz%4", "an invalid escape is kept as sent")
        #expect(query["missing"] == nil)
    }

    @Test func unknownNamesAndNULAreRefused() throws {
        let query = QueryString("include_revoked=true&api_key=x&colour=blue")
        #expect(throws: Never.self) { try QueryString("include_revoked=1&api_key=x").requireOnly(["include_revoked"]) }
        #expect(throws: (any Error).self) { try query.requireOnly(["include_revoked"]) }
        #expect(throws: (any Error).self) { try QueryString("level=info%00").requireNoNUL() }
        #expect(throws: Never.self) { try QueryString("level=info").requireNoNUL() }
    }
}

/// A client refused for load or a limit is told when to come back.
@Suite struct RetryAfterTests {
    @Test func every429And503SaysRetryAfter() {
        #expect(KeyflareError.unavailable("busy").headers[.retryAfter] == "1")
        #expect(KeyflareError.tooManyRequests("slow down").headers[.retryAfter] == "60")
        #expect(KeyflareError.badRequest("no").headers[.retryAfter] == nil)
    }
}
