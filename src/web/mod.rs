//! The web pages: server-rendered HTML for the people the service is for
//! (the public, contributors, treasurers, funders), served by the same
//! binary. Every page reads and writes through the API's own routes, called
//! in process with the signed-in person's token ([`api`]), so a page can
//! never decide access differently from the API: the one decision is
//! `domain::access::decide`, taken by the API's handlers.
//!
//! docs/web.md describes the pages, the session, CSRF and the languages.

pub mod api;
mod layout;
pub mod locale;
mod messages;
mod public;
mod session;
mod visit;

use actix_web::web;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(public::home))
        .route("/static/web.css", web::get().to(layout::style))
        .route("/p/{project_id}", web::get().to(public::project))
        .route("/sign-in", web::get().to(session::form))
        .route("/sign-in", web::post().to(session::sign_in))
        .route("/sign-out", web::post().to(session::sign_out));
}
