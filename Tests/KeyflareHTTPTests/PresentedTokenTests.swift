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
