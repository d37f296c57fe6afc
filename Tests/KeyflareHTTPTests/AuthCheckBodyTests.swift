import Foundation
import KeyflareCore
import NIOCore
import Testing

@testable import KeyflareHTTP

/// `/api/auth/check` writes its body by hand; it must be the JSON its fields say.
@Suite struct AuthCheckBodyTests {
    @Test(arguments: [Date?.none, Date(timeIntervalSince1970: 2_000_000_000.25)])
    func theBodyIsTheTokensFieldsAsJSON(_ expiresAt: Date?) throws {
        for _ in 0..<50 {
            let source = UUID()
            let token = VerifiedToken(
                tokenID: UUID(), accountID: UUID(), scopes: [.ingestSource(source), .query, .management], expiresAt: expiresAt)
            let body = AccountController.checkBody(token)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
            #expect(object["account_id"] as? String == token.accountID.uuidString.lowercased())
            #expect(object["token_id"] as? String == token.tokenID.uuidString.lowercased())
            #expect(object["type"] as? String == "private")
            #expect(object["scopes"] as? [String] == ["ingest:source:\(source.uuidString.lowercased())", "query", "management"])
            if let expiresAt {
                #expect(object["expires_at"] as? String == RFC3339.format(expiresAt))
            } else {
                #expect(object["expires_at"] is NSNull)
            }
        }
    }
}
