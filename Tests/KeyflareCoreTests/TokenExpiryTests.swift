import Foundation
import KeyflareCore
import Testing

/// The expiry rules the API, the console and the CLI share.
@Suite struct TokenExpiryTests {
    let now = Date(timeIntervalSince1970: 2_000_000_000)

    @Test func aLifetimeOrAFutureTimeButNotBoth() throws {
        #expect(try TokenExpiry.resolve(expiresAt: nil, expiresIn: nil, now: now) == nil)
        #expect(try TokenExpiry.resolve(expiresAt: nil, expiresIn: 60, now: now) == now.addingTimeInterval(60))
        #expect(try TokenExpiry.resolve(expiresAt: "2033-05-18T03:34:20Z", expiresIn: nil, now: now) == now.addingTimeInterval(60))
        #expect(throws: KeyflareError.unprocessable("give expires_at or expires_in, not both")) {
            try TokenExpiry.resolve(expiresAt: "2033-05-18T03:34:20Z", expiresIn: 60, now: now)
        }
        #expect(throws: KeyflareError.unprocessable("expires_at must be in the future")) {
            try TokenExpiry.resolve(expiresAt: "2033-05-18T03:33:20Z", expiresIn: nil, now: now)
        }
        #expect(throws: KeyflareError.unprocessable("expires_at must be an RFC 3339 timestamp")) {
            try TokenExpiry.resolve(expiresAt: "tomorrow", expiresIn: nil, now: now)
        }
        for bad in [0, -1] {
            #expect(throws: KeyflareError.unprocessable("expires_in must be a positive number of seconds")) {
                try TokenExpiry.after(seconds: bad, now: now)
            }
        }
    }
}
