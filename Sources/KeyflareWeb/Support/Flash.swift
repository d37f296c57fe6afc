import Hummingbird

/// The notice a page shows after a redirect, chosen by a fixed key in `?done=`: the page's own
/// text is looked up by key, the query string's value is never shown, and an unknown key shows
/// nothing.
enum Flash {
    static let tokens = [
        "created": "Token created.",
        "revoked": "The token has been revoked.",
        "disabled": "The token is disabled: every instance refuses it until you enable it again.",
        "enabled": "The token is enabled again.",
        "updated": "Settings saved: every instance applies them within one notification delivery.",
        "narrowed": "Scopes narrowed: every instance applies them within one notification delivery.",
        "rolled": "Token rolled: the new token is below; the old one keeps working for the grace period you chose.",
    ]
    static let sources = ["created": "Source created.", "renamed": "Source renamed.", "deleted": "Source deleted."]
    static let endpoints = ["saved": "Endpoint saved.", "deleted": "Endpoint deleted."]

    /// The message for the request's `?done=` key in `table`, if it is one.
    /// - Parameters:
    ///   - request: the page's request.
    ///   - table: the page's keys and messages.
    static func message(_ request: Request, in table: [String: String]) -> String? {
        request.uri.queryParameters["done"].flatMap { table[String($0)] }
    }
}
