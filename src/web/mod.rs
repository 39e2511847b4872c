//! The web pages: server-rendered HTML for the people the service is for
//! (the public, contributors, treasurers, funders), served by the same
//! binary. Every page reads and writes through the API's own routes, called
//! in process with the signed-in person's token ([`api`]), so a page can
//! never decide access differently from the API: the one decision is
//! `domain::access::decide`, taken by the API's handlers.
//!
//! docs/web.md describes the pages, the session, CSRF and the languages.

mod account;
pub mod api;
mod forms;
mod funder;
mod layout;
pub mod locale;
mod messages;
mod money;
mod project;
mod public;
mod session;
mod settings;
mod table;
mod treasury;
mod visit;
mod work;

use actix_web::web;

use project::fresh;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(public::home))
        .route("/static/web.css", web::get().to(layout::style))
        .route("/p/{project_id}", web::get().to(public::project))
        .route("/sign-in", web::get().to(session::form))
        .route("/sign-in", web::post().to(session::sign_in))
        .route("/sign-out", web::post().to(session::sign_out))
        .route("/me", web::get().to(account::me))
        .route(
            "/projects/{project_id}/contributions",
            web::get().to(fresh(work::render)),
        )
        .route(
            "/projects/{project_id}/contributions",
            web::post().to(work::log),
        )
        .route("/projects/{project_id}/claims", web::post().to(work::claim))
        .route(
            "/projects/{project_id}/review",
            web::get().to(fresh(treasury::render_review)),
        )
        .route(
            "/projects/{project_id}/review/{contribution_id}",
            web::post().to(treasury::review),
        )
        .route(
            "/projects/{project_id}/distributions",
            web::get().to(fresh(treasury::render_distributions)),
        )
        .route(
            "/projects/{project_id}/distributions",
            web::post().to(treasury::draft),
        )
        .route(
            "/projects/{project_id}/distributions/{distribution_id}",
            web::get().to(treasury::distribution_page),
        )
        .route(
            "/projects/{project_id}/distributions/{distribution_id}/approve",
            web::post().to(treasury::approve),
        )
        .route(
            "/projects/{project_id}/distributions/{distribution_id}/execute",
            web::post().to(treasury::execute),
        )
        .route(
            "/projects/{project_id}/settings",
            web::get().to(fresh(settings::render)),
        )
        .route(
            "/projects/{project_id}/settings",
            web::post().to(settings::change),
        )
        .route(
            "/projects/{project_id}/money",
            web::get().to(fresh(money::render)),
        )
        .route(
            "/projects/{project_id}/money/{form}",
            web::post().to(money::record),
        )
        .route("/projects/{project_id}/grants", web::get().to(funder::page))
        .route(
            "/projects/{project_id}/reports/{report:.+}",
            web::get().to(funder::download),
        );
}
