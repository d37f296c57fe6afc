import Foundation
import HTTPTypes
import HummingbirdTesting
import KeyflareCore
import KeyflareStore
import Testing

@testable import KeyflareTestSupport

/// The console's webhooks page: create (the secret shown once), the refusals, CSRF, tenancy, the
/// delivery log and delete.
@Suite struct WebhookConsoleTests {
    @Test func createShowsTheSecretOnceAndTheLogAndDeleteWork() async throws {
        let t = try await TestApp.make()
        defer { Task { await t.close() } }
        let console = ConsoleTests()
        let (account, email) = try await console.user(t)
        let (_, otherEmail) = try await console.user(t, name: "Other")
        try await t.application().test(.router) { client throws in
            let signedIn = try await console.signIn(client, email: email)
            var browser = signedIn.0
            let csrf = signedIn.1
            var headers = ConsoleTests.formHeaders
            for field in browser.cookieHeader { headers.append(field) }

            let empty = try await client.send("/console/webhooks", headers: browser.cookieHeader)
            #expect(empty.status == .ok)
            #expect(empty.body.contains(#"<a href="/console/webhooks" aria-current="page">Webhooks</a>"#))
            #expect(empty.body.contains("No webhooks yet."))

            // Without the form's CSRF token nothing is made.
            let forged = try await client.send(
                "/console/webhooks", method: .post, headers: headers,
                body: ConsoleTests.form([("url", "https://203.0.113.7/x"), ("events", "token.revoked")]))
            #expect(forged.status == .forbidden)
            #expect(try await WebhookStore(pool: t.pool, allowPrivate: false).list(accountID: account).isEmpty)

            // A private destination is refused with the reason, and the form keeps what was typed.
            let refused = try await client.send(
                "/console/webhooks", method: .post, headers: headers,
                body: ConsoleTests.form([("_csrf", csrf), ("url", "http://127.0.0.1/<b>x"), ("events", "token.revoked")]))
            #expect(refused.status == .unprocessableContent)
            #expect(refused.body.contains("private address"))
            #expect(refused.body.contains("http://127.0.0.1/&lt;b&gt;x") && !refused.body.contains("<b>x"), "escaped")

            let created = try await client.send(
                "/console/webhooks", method: .post, headers: headers,
                body: ConsoleTests.form([
                    ("_csrf", csrf), ("url", "https://203.0.113.7/hooks?a=1&b=<2>"), ("events", "token.revoked"), ("events", "token.expired"),
                ]))
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/console/webhooks?done=created")
            browser.remember(created.headers)
            let shown = try await client.send("/console/webhooks?done=created", headers: browser.cookieHeader)
            let secret = try #require(ConsoleTests.hidden("secret", in: shown.body.replacingOccurrences(of: #"id="secret-value" readonly "#, with: #"name="secret" "#)))
            #expect(secret.hasPrefix("whsec_") && secret.count == 70)
            #expect(shown.body.contains("Webhook created."))
            #expect(shown.body.contains("https://203.0.113.7/hooks?a=1&amp;b=&lt;2&gt;"))
            #expect(shown.body.contains("token.revoked, token.expired"))
            browser.remember(shown.headers)
            let again = try await client.send("/console/webhooks", headers: browser.cookieHeader)
            #expect(!again.body.contains(secret), "shown once")

            let webhook = try #require(try await WebhookStore(pool: t.pool, allowPrivate: false).list(accountID: account).first)
            let id = webhook.id.uuidString.lowercased()
            let log = try await client.send("/console/webhooks/\(id)", headers: browser.cookieHeader)
            #expect(log.status == .ok && log.body.contains("Nothing sent yet."))
            #expect(!log.body.contains(secret))

            // Another account's user sees none of it.
            let (otherBrowser, otherCSRF) = try await console.signIn(client, email: otherEmail)
            var otherHeaders = ConsoleTests.formHeaders
            for field in otherBrowser.cookieHeader { otherHeaders.append(field) }
            #expect(try await client.send("/console/webhooks/\(id)", headers: otherBrowser.cookieHeader).status == .notFound)
            let theirDelete = try await client.send(
                "/console/webhooks/\(id)/delete", method: .post, headers: otherHeaders, body: ConsoleTests.form([("_csrf", otherCSRF)]))
            #expect(theirDelete.status == .notFound)

            let confirm = try await client.send("/console/webhooks/\(id)/delete", headers: browser.cookieHeader)
            #expect(confirm.status == .ok)
            let deleted = try await client.send(
                "/console/webhooks/\(id)/delete", method: .post, headers: headers, body: ConsoleTests.form([("_csrf", csrf)]))
            #expect(deleted.headers[.location] == "/console/webhooks?done=deleted")
            #expect(try await WebhookStore(pool: t.pool, allowPrivate: false).list(accountID: account).isEmpty)
        }
    }
}
