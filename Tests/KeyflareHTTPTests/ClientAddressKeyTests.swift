import KeyflareCore
import NIOCore
import NIOEmbedded
import Testing

@testable import KeyflareHTTP

/// The unformatted key usage counting takes from the socket names the same client as the text the
/// allow-list and audit read.
@Suite struct ClientAddressKeyTests {
    @Test(arguments: ["198.51.100.23", "2001:db8::7", "::ffff:192.0.2.9", "::1"])
    func theSocketKeyPrintsAsTheAddress(_ text: String) throws {
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: text, port: 40_000)
        var client = ClientAddress(channel: channel)
        let key = try #require(client.key)
        #expect(key == ClientKey(try #require(client.ip)))
        #expect(key.description == IPAddress(text)!.description)
        client.resolve("203.0.113.4")
        #expect(client.key == ClientKey("203.0.113.4"))
        client.resolve(nil)
        #expect(client.key == nil)
    }
}
