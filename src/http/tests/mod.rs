//! Unit tests of the HTTP layer that need no live `Locker`: the error JSON, the extractors'
//! rejections and the fallbacks, the OpenAPI document, and the views. End-to-end tests through
//! a running locker live in the crate's `tests/`.

mod errors;
mod extract;
mod openapi;
mod views;
