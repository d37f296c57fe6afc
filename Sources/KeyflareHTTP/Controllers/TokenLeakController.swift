import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore

/// `POST /api/token-leaks`: leaked-token reports in the format of GitHub's secret-scanning partner
/// program. No token: the report is signed (ECDSA P-256 over the body, keys from
/// `KEYFLARE_LEAK_REPORT_KEYS`), and the signature is checked before the body is parsed. Every
/// reported token that is ours is revoked at once; the answer is the partner program's feedback,
/// one `{token_hash, token_type, label}` per match, in the order sent.
struct TokenLeakController {
    let keys: LeakReportKeys?
    let handler: any LeakReportHandling

    static let keyIdentifier = HTTPField.Name("Github-Public-Key-Identifier")!
    static let keySignature = HTTPField.Name("Github-Public-Key-Signature")!

    struct VerdictJSON: Encodable {
        let verdict: LeakVerdict

        enum CodingKeys: String, CodingKey {
            case tokenHash = "token_hash", tokenType = "token_type", label
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(verdict.tokenHash, forKey: .tokenHash)
            try c.encode(verdict.tokenType, forKey: .tokenType)
            try c.encode(verdict.ours ? "true_positive" : "false_positive", forKey: .label)
        }
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/api/token-leaks") { request, context -> Response in
            guard let keys else { throw LeakReport.notAccepted }
            let buffer = try await request.body.collect(upTo: LeakReport.maxBytes)
            let body = Data(buffer: buffer)
            try keys.verify(body: body, keyID: request.headers[Self.keyIdentifier], signature: request.headers[Self.keySignature])
            let report = try LeakReport(parsing: body)
            let actor = AuditActor(
                kind: .scanner, id: nil, ip: context.clientIP, userAgent: request.headers[.userAgent])
            let verdicts = try await handler.handle(
                report, bodyDigest: Array(SHA256.hash(data: body)), keyID: request.headers[Self.keyIdentifier]!, actor: actor)
            return try JSONResponse.make(verdicts.map(VerdictJSON.init))
        }
    }
}
