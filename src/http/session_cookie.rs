//! The pages' credentials: cookies instead of a bearer header (docs/kiosk.md, docs/console.md).
//!
//! `lockerd_kiosk` holds the kiosk's token (set by pairing), `lockerd_courier` a courier
//! session begun through the kiosk page, and `lockerd_console` an operator's console session
//! (an id the daemon keeps; never the operator's token). All are HttpOnly and `SameSite=Strict`, so the page's script
//! never sees them and another site's page does not send them; served over TLS they are also
//! `Secure`, so the browser never sends them over plain HTTP. Because a browser attaches
//! cookies by itself, a cookie-authenticated request must also pass [`check_same_origin`]: the
//! defence against cross-site request forgery does not rest on `SameSite` alone.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use cookie::{Cookie, SameSite};
use std::time::Duration;

pub const KIOSK_COOKIE: &str = "lockerd_kiosk";
pub const COURIER_COOKIE: &str = "lockerd_courier";
pub const CONSOLE_COOKIE: &str = "lockerd_console";
/// The header the kiosk page sends with every request that changes something. A form on another
/// site cannot send it, and a cross-origin script can only with a CORS preflight lockerd never
/// grants.
pub const CSRF_HEADER: &str = "x-lockerd-csrf";

/// The kiosk cookie outlives reboots of the kiosk: it ends when the operator deletes the token.
const KIOSK_COOKIE_AGE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// Whether a request carries either of the page's cookies and no bearer header: the page's
/// own way of calling the API.
pub fn from_kiosk_page(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
        && (cookie(headers, KIOSK_COOKIE).is_some() || cookie(headers, COURIER_COOKIE).is_some())
}

/// Whether a request carries any page's cookie (the kiosk's, or the console's) and no bearer
/// header: it is then authenticated by its cookies and must pass [`check_same_origin`].
pub fn from_page(headers: &HeaderMap) -> bool {
    from_kiosk_page(headers)
        || (!headers.contains_key(header::AUTHORIZATION)
            && cookie(headers, CONSOLE_COOKIE).is_some())
}

/// Refuses a cookie-authenticated request that another site may have made: one whose
/// `Sec-Fetch-Site` is not same-origin (or user-typed), whose `Origin` is not this server's, or
/// that changes something without the page's [`CSRF_HEADER`].
pub fn check_same_origin(parts: &Parts) -> Result<(), &'static str> {
    let headers = &parts.headers;
    if let Some(site) = headers.get("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return Err("cross-site request refused");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err("cross-origin request refused");
        }
    }
    let safe = parts.method == Method::GET || parts.method == Method::HEAD;
    if !safe && headers.get(CSRF_HEADER).is_none_or(|v| v != "1") {
        return Err("missing X-Lockerd-Csrf header");
    }
    Ok(())
}

/// `Set-Cookie` for a cookie only this server's own pages send back and no script reads;
/// `secure` when the API is served over TLS.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    secure: bool,
) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(max_age.as_secs().min(i64::MAX as u64) as i64);
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("token characters are header-safe")
}

/// The kiosk's `Set-Cookie` after pairing.
pub fn kiosk_cookie(token: &str, secure: bool) -> HeaderValue {
    set_cookie(KIOSK_COOKIE, token, "/", KIOSK_COOKIE_AGE, secure)
}

/// A courier session begun through the page; only the API routes need it.
pub fn courier_cookie(token: &str, lifetime: Duration, secure: bool) -> HeaderValue {
    set_cookie(COURIER_COOKIE, token, "/api/v1", lifetime, secure)
}

/// Ends the page's courier session in the browser.
pub fn clear_courier_cookie(secure: bool) -> HeaderValue {
    set_cookie(COURIER_COOKIE, "", "/api/v1", Duration::ZERO, secure)
}

/// An operator's console session (`Path=/`: the console's page and the API routes it calls).
pub fn console_cookie(session: &str, lifetime: Duration, secure: bool) -> HeaderValue {
    set_cookie(CONSOLE_COOKIE, session, "/", lifetime, secure)
}

/// Ends the console session in the browser.
pub fn clear_console_cookie(secure: bool) -> HeaderValue {
    set_cookie(CONSOLE_COOKIE, "", "/", Duration::ZERO, secure)
}
