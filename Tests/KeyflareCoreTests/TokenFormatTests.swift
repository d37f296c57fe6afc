import Foundation
import Testing

@testable import KeyflareCore

@Suite struct TokenFormatTests {
    @Test func generatedTokensHaveTheDocumentedShape() {
        for kind in [TokenKind.public, .private] {
            let token = TokenFormat.generate(kind: kind)
            #expect(token.count == TokenFormat.length)
            #expect(token.hasPrefix(kind == .private ? "kf_prv_" : "kf_pub_"))
            #expect(token.dropFirst(7).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            #expect(TokenFormat.check(token) == .success(kind))
        }
    }

    @Test func tokensOfAnotherFormatAreLookedUpByTheirDigest() throws {
        for token in ["your-super-secret-and-long-logflare-key", "0a1B2c3D4e5F6g7H", String(repeating: "~", count: 512)] {
            #expect(TokenFormat.isImportable(token), "\(token)")
            #expect(try TokenRejection.digestIfWellFormed(token) == TokenFormat.digest(of: token))
        }
        for token in ["0a1B2c3D4e5F6g7", "with space in the middle", "caf\u{e9}-is-not-ascii-here", String(repeating: "~", count: 513),
                      "kf_pub_" + String(repeating: "a", count: 49), "kf_prv_short-but-ours-anyway"] {
            #expect(!TokenFormat.isImportable(token), "\(token)")
            #expect(throws: KeyflareError.self) { try TokenRejection.digestIfWellFormed(token) }
        }
    }

    @Test func tokensAreUnique() {
        let tokens = Set((0..<2000).map { _ in TokenFormat.generate(kind: .public) })
        #expect(tokens.count == 2000)
    }

    @Test func everySingleCharacterChangeIsCaught() {
        let token = Array(TokenFormat.generate(kind: .private))
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var caught = 0
        var tried = 0
        for position in 7..<token.count {
            for replacement in alphabet.prefix(10) where replacement != token[position] {
                var changed = token
                changed[position] = replacement
                tried += 1
                if case .failure(.badChecksum) = TokenFormat.check(String(changed)) { caught += 1 }
            }
        }
        #expect(caught == tried)
    }

    @Test func malformedInputIsRejectedBeforeAnyHashing() {
        let good = TokenFormat.generate(kind: .public)
        let head = String(good.prefix(20))
        let tail = String(good.dropFirst(21))
        let candidates: [String] = [
            "", "kf_pub_", "Bearer " + good, good + "x", String(good.dropLast()), "kf_xyz_" + String(good.dropFirst(7)),
            good.replacingOccurrences(of: "kf_pub_", with: "KF_PUB_"), head + "-" + tail, head + "é" + tail,
        ]
        for bad in candidates {
            #expect(TokenFormat.check(bad) == .failure(.malformed), "\(bad)")
        }
    }

    @Test func checksumIsCRC32OfThePrefix() {
        // The standard CRC-32 check value.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(TokenFormat.base62([0, 0, 0, 61], width: 3) == "00z")
        #expect(TokenFormat.base62([0xFF, 0xFF, 0xFF, 0xFF], width: 6) == "4gfFC3")
    }

    @Test func digestIsStableAndHexIsSHA256() {
        let digest = TokenFormat.digest(of: "abc")
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenDigest(bytes: digest.bytes) == digest)
        #expect(TokenFormat.digest(of: "abd") != digest)
        #expect(TokenFormat.hint(of: "kf_pub_xxxxWXYZ") == "WXYZ")
    }
}
