import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareHTTP
import KeyflareStore

/// `/console/login`: sign in with email and password.
struct SignInPages {
    let sessions: SessionStore
    let jar: CookieJar
    static let sessionCookie = "kf_session"
    static let loginCSRFCookie = "kf_login_csrf"

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/login") { _, context -> Response in
            if context.consoleSession != nil { return Page.redirect("/console/access-tokens") }
            return form(email: "", error: nil, status: .ok)
        }
        group.post("/login") { request, context -> Response in
            let form = try await FormData.read(request)
            // Sign-in has no session yet, so its CSRF token is a double-submitted cookie.
            guard let cookie = CookieJar.value(Self.loginCSRFCookie, in: request), let field = form["_csrf"],
                constantTimeEquals(cookie, field)
            else { throw ConsoleProblem.badCSRF }
            let email = form["email"] ?? ""
            do {
                let (secret, _) = try await sessions.signIn(
                    email: email, password: form["password"] ?? "", ip: context.clientIP, userAgent: request.headers[.userAgent])
                var headers = HTTPFields()
                headers.append(HTTPField(
                    name: .setCookie, value: jar.set(Self.sessionCookie, secret, path: "/console", maxAge: Int(SessionStore.lifetime))))
                headers.append(HTTPField(name: .setCookie, value: jar.clear(Self.loginCSRFCookie, path: "/console/login")))
                return Page.redirect("/console/access-tokens", headers: headers)
            } catch let error as KeyflareError {
                switch error {
                case .unauthorized, .tooManyRequests:
                    return self.form(email: email, error: error.message, status: error.status)
                default:
                    throw error
                }
            }
        }
    }

    private func form(email: String, error: String?, status: HTTPResponse.Status) -> Response {
        let csrf = SessionStore.randomSecret()
        return Page.render(
            "signin", title: "Sign in", session: nil, status: status, values: ["csrf": csrf, "email": email], error: error,
            headers: [.setCookie: jar.set(Self.loginCSRFCookie, csrf, path: "/console/login", maxAge: 3600, sameSite: "Strict")]
        )
    }
}
