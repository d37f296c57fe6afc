import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import Testing

@testable import KeyflareTestSupport

/// An account's token lifetime policy through the API: enforced at create and roll, existing
/// tokens listed rather than broken, bad values refused with nothing changed.
@Suite struct TokenLifetimePolicyTests {
    static func patch(_ client: some TestClientProtocol, _ management: String, _ body: String) async throws
        -> (status: HTTPResponse.Status, headers: HTTPFields, body: String)
    {
        var headers: HTTPFields = .apiKey(management)
        headers[.contentType] = "application/json"
        return try await client.send("/api/account", method: .patch, headers: headers, body: body)
    }

    static func create(_ client: some TestClientProtocol, _ management: String, _ fields: String) async throws
        -> (status: HTTPResponse.Status, headers: HTTPFields, body: String)
    {
        try await client.send(
            "/api/access-tokens", method: .post, headers: .apiKey(management), body: #"{"scopes":["ingest"]"# + fields + "}")
    }

    @Test func aLongestLifetimeIsEnforcedAtCreateAndRollAndOlderTokensAreListed() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (accountID, management) = try await t.account()
        let old = try await t.token([.ingest], account: accountID)
        try await t.application().test(.router) { client throws in
            let set = try await Self.patch(client, management, #"{"token_policy":{"max_lifetime_days":30}}"#)
            #expect(set.status == .ok, "\(set.body)")
            let shown = try json(set.body)
            let policy = try #require(shown["token_policy"] as? [String: Any])
            #expect(policy["max_lifetime_days"] as? Int == 30 && policy["expiry_required"] as? Bool == true)
            let over = try #require(shown["tokens_over_policy"] as? [String])
            #expect(over.count == 2 && over.contains(old.id.uuidString.lowercased()), "the management token and the old one never expire")

            let forever = try await Self.create(client, management, "")
            #expect(forever.status == .unprocessableContent)
            #expect(forever.body.contains("requires an expiry of at most 30 days"))
            #expect(try await Self.create(client, management, #","expires_in":\#(31 * 86_400)"#).status == .unprocessableContent)
            let tooLate = RFC3339.format(Date().addingTimeInterval(40 * 86_400))
            #expect(try await Self.create(client, management, #","expires_at":"\#(tooLate)""#).status == .unprocessableContent)
            let fine = try await Self.create(client, management, #","expires_in":\#(30 * 86_400)"#)
            #expect(fine.status == .created, "\(fine.body)")

            // The old token still works, and rolls only into a token that obeys the policy.
            #expect(try await client.send("/api/auth/check", headers: .apiKey(old.secret)).status == .ok)
            let rollForever = try await client.send(
                "/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management), body: #"{"grace_seconds":60}"#)
            #expect(rollForever.status == .unprocessableContent, "\(rollForever.body)")
            let rolled = try await client.send(
                "/api/access-tokens/\(old.id)/roll", method: .post, headers: .apiKey(management),
                body: #"{"grace_seconds":0,"expires_in":86400}"#)
            #expect(rolled.status == .created, "\(rolled.body)")
            let after = try json(try await client.send("/api/account", headers: .apiKey(management)).body)
            #expect((after["tokens_over_policy"] as? [String])?.contains(old.id.uuidString.lowercased()) == false, "revoked by the roll")
            #expect((after["tokens_over_policy"] as? [String])?.count == 1)

            // Removed, tokens may live forever again.
            #expect(try await Self.patch(client, management, #"{"token_policy":null}"#).status == .ok)
            let cleared = try json(try await client.send("/api/account", headers: .apiKey(management)).body)
            #expect(cleared["token_policy"] is NSNull && (cleared["tokens_over_policy"] as? [String])?.isEmpty == true)
            #expect(try await Self.create(client, management, "").status == .created)
        }
        let audited = try await t.count(
            "SELECT count(*) AS n FROM audit_events WHERE account_id = \(accountID) AND action = 'account.updated'")
        #expect(audited == 2)
    }

    @Test func expiryRequiredAloneAllowsAnyLifetime() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            #expect(try await Self.patch(client, management, #"{"token_policy":{"expiry_required":true}}"#).status == .ok)
            let shown = try json(try await client.send("/api/account", headers: .apiKey(management)).body)
            let policy = try #require(shown["token_policy"] as? [String: Any])
            #expect(policy["max_lifetime_days"] is NSNull && policy["expiry_required"] as? Bool == true)
            let refused = try await Self.create(client, management, "")
            #expect(refused.status == .unprocessableContent && refused.body.contains("requires an expiry"))
            #expect(try await Self.create(client, management, #","expires_in":\#(10 * 365 * 86_400)"#).status == .created)
        }
    }

    @Test func badPoliciesAreRefusedAndChangeNothing() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let (_, management) = try await t.account()
        try await t.application().test(.router) { client throws in
            #expect(try await Self.patch(client, management, #"{"token_policy":{"max_lifetime_days":90}}"#).status == .ok)
            let bad: [(String, String)] = [
                (#"{"token_policy":{"max_lifetime_days":0}}"#, "max_lifetime_days"),
                (#"{"token_policy":{"max_lifetime_days":-3}}"#, "max_lifetime_days"),
                (#"{"token_policy":{"max_lifetime_days":3651}}"#, "max_lifetime_days"),
                (#"{"token_policy":{"max_lifetime_days":1.5}}"#, "max_lifetime_days"),
                (#"{"token_policy":{"max_lifetime_days":"30"}}"#, "max_lifetime_days"),
                (#"{"token_policy":{"expiry_required":"yes"}}"#, "expiry_required"),
                (#"{"token_policy":{}}"#, "token_policy"),
                (#"{"token_policy":{"expiry_required":false}}"#, "token_policy"),
                (#"{"token_policy":{"max_lifetime_days":30,"grace":1}}"#, "token_policy.grace"),
                (#"{"token_policy":30}"#, "token_policy"),
            ]
            for (body, named) in bad {
                let answer = try await Self.patch(client, management, body)
                #expect(answer.status == .unprocessableContent || answer.status == .badRequest, "\(body): \(answer.status)")
                #expect(answer.body.contains(named), "\(body): \(answer.body)")
                let policy = try json(try await client.send("/api/account", headers: .apiKey(management)).body)["token_policy"] as? [String: Any]
                #expect(policy?["max_lifetime_days"] as? Int == 90, "\(body) changed the policy")
            }
        }
    }
}
