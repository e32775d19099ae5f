//! The pages lockerd serves to browsers (the kiosk's, the console's): files compiled into the
//! binary, one route per file, and the headers every page and file gets.
//!
//! A page's files are its folder's (`kiosk/`, `console/`) compiled in with `include_str!`:
//! nothing is fetched at run time, and a running daemon cannot be made to serve other files.

use super::AppState;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(super) const JS: &str = "text/javascript; charset=utf-8";
pub(super) const CSS: &str = "text/css; charset=utf-8";

/// Declares a page's static files: each one's path under the folder `$dir`, which is also its
/// path under `/$dir/`, compiled in with its content type.
macro_rules! assets {
    ($dir:literal, [$(($file:literal, $content_type:expr)),* $(,)?]) => {
        &[$((
            concat!("/", $dir, "/", $file),
            include_str!(concat!("../../", $dir, "/", $file)),
            $content_type,
        )),*]
    };
}
pub(super) use assets;

/// A page's static files: `(path, body, content type)`.
pub(super) type Assets = &'static [(&'static str, &'static str, &'static str)];

/// Only this server's own files run or load in a page, and no other site may frame it.
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One route per file, not a wildcard: any other path stays the API's ordinary 404.
pub(super) fn with_assets(router: Router<AppState>, assets: Assets) -> Router<AppState> {
    assets
        .iter()
        .fold(router, |router, &(path, body, content_type)| {
            router.route(path, get(move || async move { asset(body, content_type) }))
        })
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        // Revalidate each load, so an updated daemon's page is never mixed with old files.
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

/// An HTML page: never stored, never framed, no referrer.
pub(super) fn page(status: StatusCode, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (status, headers, body).into_response()
}
