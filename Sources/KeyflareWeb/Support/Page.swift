import Foundation
import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareStore

/// Renders console pages inside the layout, with headers that keep them out of caches and frames.
enum Page {
    static func render(
        _ template: String, title: String, session: ConsoleSession?, nav: String? = nil, status: HTTPResponse.Status = .ok,
        values: [String: Any] = [:], flash: String? = nil, error: String? = nil, headers: HTTPFields = [:]
    ) -> Response {
        var context = values
        if let session {
            context["csrf"] = session.csrfToken
            context["account"] = session.accountName
        }
        let body = Templates.library.render(context, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "body": body]
        if let session {
            layout["session"] = [
                "csrf": session.csrfToken, "email": session.email, "account": session.accountName,
                "nav": nav.map { [$0: true] } ?? [:],
            ] as [String: Any]
        }
        if let flash { layout["flash"] = flash }
        if let error { layout["error"] = error }
        let html = Templates.library.render(layout, withTemplate: "layout") ?? ""
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        // ConsoleHeadersMiddleware adds these to every console response; pages carry them too, so a
        // page rendered outside the console's route group is no less protected.
        for field in ConsoleHeadersMiddleware.fields { fields[field.name] = field.value }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other: after a POST, the browser GETs the page, so a reload never resubmits.
    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: fields)
    }

    /// A short timestamp for tables.
    static func time(_ date: Date?) -> String {
        guard let date else { return "never" }
        return String(RFC3339.format(date).prefix(16)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }
}

/// Console cookies: HttpOnly, SameSite, and Secure when the public URL is https.
struct CookieJar {
    let secure: Bool

    func set(_ name: String, _ value: String, path: String, maxAge: Int?, sameSite: String = "Lax") -> String {
        var cookie = "\(name)=\(value); Path=\(path); HttpOnly; SameSite=\(sameSite)"
        if let maxAge { cookie += "; Max-Age=\(maxAge)" }
        if secure { cookie += "; Secure" }
        return cookie
    }

    func clear(_ name: String, path: String) -> String {
        set(name, "", path: path, maxAge: 0)
    }

    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(pair[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}

/// Compares two strings in time that depends only on their lengths.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
}
