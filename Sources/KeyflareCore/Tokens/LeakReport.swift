import Crypto
import Foundation

/// The public keys that sign leaked-token reports, by key identifier, in the format GitHub's
/// secret-scanning partner program publishes them:
/// `{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}`.
public struct LeakReportKeys: Sendable {
    /// P-256 keys by identifier.
    public let keys: [String: P256.Signing.PublicKey]

    /// Reads the keys from `KEYFLARE_LEAK_REPORT_KEYS`: the JSON itself, or the path of a file
    /// holding it (a value starting with `/`).
    /// - Parameters:
    ///   - value: the setting.
    public init(configured value: String) throws {
        let text: String
        if value.hasPrefix("/") {
            guard let contents = try? String(contentsOfFile: value, encoding: .utf8) else {
                throw ConfigurationError("KEYFLARE_LEAK_REPORT_KEYS: cannot read \(value)")
            }
            text = contents
        } else {
            text = value
        }
        try self.init(json: Data(text.utf8))
    }

    /// Parses the keys document.
    /// - Parameters:
    ///   - json: the document.
    public init(json: Data) throws {
        struct Document: Decodable {
            struct Key: Decodable {
                let key_identifier: String
                let key: String
            }
            let public_keys: [Key]
        }
        guard let document = try? JSONDecoder().decode(Document.self, from: json), !document.public_keys.isEmpty else {
            throw ConfigurationError(
                #"KEYFLARE_LEAK_REPORT_KEYS must be {"public_keys": [{"key_identifier": "...", "key": "<PEM>"}]}, inline or the path of a file"#)
        }
        var keys: [String: P256.Signing.PublicKey] = [:]
        for entry in document.public_keys {
            guard let key = try? P256.Signing.PublicKey(pemRepresentation: entry.key) else {
                throw ConfigurationError("KEYFLARE_LEAK_REPORT_KEYS: key \(entry.key_identifier) is not a P-256 public key in PEM")
            }
            keys[entry.key_identifier] = key
        }
        self.keys = keys
    }

    /// Throws 401 unless `signature` (base64 of an ASN.1 DER ECDSA signature over the body's
    /// SHA-256) was made by the key named `keyID`.
    /// - Parameters:
    ///   - body: the report exactly as received.
    ///   - keyID: `Github-Public-Key-Identifier`.
    ///   - signature: `Github-Public-Key-Signature`.
    public func verify(body: some DataProtocol, keyID: String?, signature: String?) throws {
        guard let keyID, let signature else { throw LeakReport.unsigned }
        guard let key = keys[keyID], let der = Data(base64Encoded: signature),
            let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der),
            key.isValidSignature(parsed, for: SHA256.hash(data: Data(body)))
        else { throw LeakReport.badSignature }
    }
}

/// A leaked-token report: a JSON list of `{token, type, url, source}`, as a secret scanner sends it.
public struct LeakReport: Sendable, Equatable {
    /// One reported match.
    public struct Entry: Sendable, Equatable {
        /// The string found.
        public let token: String
        /// The scanner's name for the pattern that found it.
        public let type: String
        /// Where it was found.
        public let url: String
        /// What kind of place (`content`, `commit`, `issue_comment`, …).
        public let source: String
    }

    /// The matches, in the order sent.
    public let entries: [Entry]

    /// Largest report body read.
    public static let maxBytes = 256 * 1024
    /// Most matches in one report.
    public static let maxEntries = 1_000

    static let unsigned = KeyflareError.unauthorized("leak reports must be signed (Github-Public-Key-Identifier and Github-Public-Key-Signature)")
    static let badSignature = KeyflareError.unauthorized("the leak report's signature does not verify")
    /// What a report gets where no keys are configured.
    public static let notAccepted = KeyflareError.unauthorized("this server accepts no leak reports (KEYFLARE_LEAK_REPORT_KEYS is not set)")

    /// Parses a verified body. More than `maxEntries` matches is a 413; anything but a list of
    /// objects with a string `token` is a 400. The other fields are optional strings, cut to 2,048
    /// bytes when stored.
    /// - Parameters:
    ///   - body: the report.
    public init(parsing body: Data) throws {
        // Counted before parsing: the body is at most maxBytes, so this is cheap, and a list of a
        // hundred thousand tiny objects is refused before any of them is built.
        let containers = body.reduce(0) { $0 + ($1 == UInt8(ascii: "{") || $1 == UInt8(ascii: "[") ? 1 : 0) }
        guard containers <= Self.maxEntries + 1 else {
            throw KeyflareError.payloadTooLarge("a leak report holds at most \(Self.maxEntries) matches")
        }
        guard let list = (try? JSONSerialization.jsonObject(with: body)) as? [Any] else {
            throw KeyflareError.badRequest("a leak report is a JSON list of {token, type, url, source}")
        }
        guard list.count <= Self.maxEntries else {
            throw KeyflareError.payloadTooLarge("a leak report holds at most \(Self.maxEntries) matches")
        }
        entries = try list.map { item in
            guard let object = item as? [String: Any], let token = object["token"] as? String else {
                throw KeyflareError.badRequest("each match in a leak report is an object with a string \"token\"")
            }
            func text(_ key: String) -> String { (object[key] as? String) ?? "" }
            return Entry(token: token, type: text("type"), url: text("url"), source: text("source"))
        }
    }
}

/// What a report said about one match, in the partner program's feedback format.
public struct LeakVerdict: Sendable, Equatable {
    /// Hex SHA-256 of the reported string.
    public let tokenHash: String
    /// The scanner's type, as it sent it.
    public let tokenType: String
    /// Whether the string is one of our tokens (revoked now, if it was live).
    public let ours: Bool

    /// - Parameters:
    ///   - tokenHash: hex SHA-256 of the match.
    ///   - tokenType: the scanner's type.
    ///   - ours: whether it is a token here.
    public init(tokenHash: String, tokenType: String, ours: Bool) {
        self.tokenHash = tokenHash
        self.tokenType = tokenType
        self.ours = ours
    }
}

/// Acts on verified leak reports: revokes every reported token that is ours, records
/// `token.leaked`, and refuses a report seen before (409). Port of the storage that does it.
public protocol LeakReportHandling: Sendable {
    /// Handles one report, in one transaction.
    /// - Parameters:
    ///   - report: the parsed report.
    ///   - bodyDigest: SHA-256 of the signed body, to refuse a replay.
    ///   - keyID: the key that signed it.
    ///   - actor: the scanner, from where.
    func handle(_ report: LeakReport, bodyDigest: [UInt8], keyID: String, actor: AuditActor) async throws -> [LeakVerdict]
}
