//! The OpenAPI 3.1 document, generated from the handlers, and a docs page
//! that renders it with no external requests (no CDN, nothing downloaded).

use super::{health, v1};
use axum::Json;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "The safety-information exchange between a prison system and the healthcare systems that treat prisoners. \
            Every call needs `Authorization: Bearer <key>`; optional `Gatehouse-Staff-Assertion` (a signed JWT naming the staff user, verified against the consumer's registered keys) and \
            `Gatehouse-Purpose` (direct-care, safety, emergency, governance, operations); in an emergency, where the agreement allows it, \
            `Gatehouse-Break-Glass: <reason>` with the staff user named. Every request that touches a person is recorded in a \
            tamper-evident disclosure audit. Errors are RFC 9457 problems."
    ),
    paths(
        health::live, health::ready, health::metrics,
        v1::people::get_person, v1::summary::get_summary, v1::people::search, v1::continuity::link_nhs_number,
        v1::continuity::get_check, v1::continuity::confirm, v1::roll::wing_summary, v1::people::movements, v1::people::alerts, v1::people::planned_movements,
        v1::notices::list_for_person, v1::notices::publish, v1::notices::get_notice, v1::notices::versions,
        v1::notices::revise, v1::notices::withdraw, v1::notices::overdue,
        v1::feed::post_events,
        v1::events::pull, v1::subscriptions::create, v1::subscriptions::list, v1::subscriptions::get_one,
        v1::subscriptions::delete, v1::subscriptions::enable, v1::subscriptions::rotate_secret,
        v1::subscriptions::replay, v1::subscriptions::deliveries,
        v1::establishments::list, v1::establishments::people,
        v1::appointments::book, v1::appointments::get_one, v1::appointments::change, v1::appointments::plan_escort,
        v1::appointments::record_attendance, v1::appointments::history, v1::appointments::list_for_person,
        v1::unlock::unlock_list, v1::attendance::for_establishment, v1::attendance::across_establishments,
        v1::closures::record, v1::closures::list, v1::closures::end,
        v1::audit::person_disclosures, v1::audit::checkpoint, v1::audit::proof, v1::audit::consistency, v1::audit::break_glass_queue, v1::audit::review_break_glass,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&ApiKeyAuth),
    tags(
        (name = "people", description = "The shared record: people, custody, movements, alerts, planned movements"),
        (name = "safety notices", description = "Health-owned instructions for prison staff: publish, revise, withdraw, read in your view"),
        (name = "appointments", description = "Healthcare appointments: booked once by healthcare, escorts planned by the prison, attendance (DNA kept apart from WNB), clashes, unlock lists, figures"),
        (name = "events", description = "Real-time events: signed webhooks (Standard Webhooks), the pull feed, replay and dead letters"),
        (name = "prison feed", description = "How the prison system writes to Gatehouse"),
        (name = "reference data", description = "Establishments"),
        (name = "governance", description = "Who saw a record, break-glass review, audit checkpoints and proofs"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gh_<prefix>_<secret>")
                    .build(),
            ),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
