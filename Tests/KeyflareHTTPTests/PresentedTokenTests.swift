import Testing

@testable import KeyflareHTTP

@Suite struct PresentedTokenTests {
    @Test func precedenceAndEmptyValues() {
        #expect(PresentedToken.find(authorization: "Bearer a", apiKey: "b", queryAPIKey: "c") == "a")
        #expect(PresentedToken.find(authorization: "bearer a", apiKey: nil, queryAPIKey: nil) == "a")
        #expect(PresentedToken.find(authorization: "BEARER  a ", apiKey: nil, queryAPIKey: nil) == "a")
        #expect(PresentedToken.find(authorization: nil, apiKey: "b", queryAPIKey: "c") == "b")
        #expect(PresentedToken.find(authorization: nil, apiKey: nil, queryAPIKey: "c") == "c")
        #expect(PresentedToken.find(authorization: "Bearer ", apiKey: "b", queryAPIKey: "c") == "b")
        #expect(PresentedToken.find(authorization: "Bearer", apiKey: "", queryAPIKey: "c") == "c")
        #expect(PresentedToken.find(authorization: "Basic dXNlcjpwYXNz", apiKey: nil, queryAPIKey: "c") == "c")
        #expect(PresentedToken.find(authorization: "", apiKey: " ", queryAPIKey: "") == nil)
        #expect(PresentedToken.find(authorization: nil, apiKey: nil, queryAPIKey: nil) == nil)
    }
}

@Suite struct PresentedTokenBytesTests {
    /// The byte-level reading keeps the old rules: the scheme in any case, spaces and tabs around
    /// the value dropped, other schemes and look-alikes ignored, and the query string read last.
    @Test func schemesAndWhitespace() {
        #expect(PresentedToken.bearer("Bearer\tabc") == nil)
        #expect(PresentedToken.bearer("  bEaReR   abc \t") == "abc")
        #expect(PresentedToken.bearer("Bearerabc") == nil)
        #expect(PresentedToken.bearer("Bearex abc") == nil)
        #expect(PresentedToken.bearer("Bear") == nil)
        #expect(PresentedToken.bearer("\u{0}earer abc") == nil)
        #expect(PresentedToken.bearer("Bearer a b") == "a b")
        #expect(PresentedToken.bearer("Bearer é") == "é")
        #expect(PresentedToken.find(authorization: nil, apiKey: "\t b \t", queryAPIKey: nil) == "b")
        var queried = false
        let value = PresentedToken.find(authorization: "Bearer a", apiKey: nil, queryAPIKey: { queried = true; return "c" }())
        #expect(value == "a")
        #expect(!queried, "the query string was read although a header held the token")
    }
}
