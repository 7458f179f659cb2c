//! `/v1`: the REST API. Every route needs an API key.

pub mod appointments;
pub mod attendance;
pub mod audit;
pub mod closures;
pub mod continuity;
pub mod establishments;
pub mod events;
pub mod feed;
pub mod notices;
pub mod paging;
pub mod people;
pub mod roll;
pub mod subscriptions;
pub mod summary;
pub mod unlock;
pub mod versioned;
pub mod views;

use crate::state::AppState;
use axum::Router;
use axum::routing::{delete, get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(people::search))
        .route("/people/{prisonNumber}", get(people::get_person))
        .route("/people/{prisonNumber}/summary", get(summary::get_summary))
        .route(
            "/people/{prisonNumber}/nhs-number",
            axum::routing::put(continuity::link_nhs_number),
        )
        .route("/continuity-checks/{id}", get(continuity::get_check))
        .route("/continuity-checks/{id}/confirm", post(continuity::confirm))
        .route("/people/{prisonNumber}/movements", get(people::movements))
        .route("/people/{prisonNumber}/alerts", get(people::alerts))
        .route(
            "/people/{prisonNumber}/planned-movements",
            get(people::planned_movements),
        )
        .route(
            "/people/{prisonNumber}/safety-notices",
            get(notices::list_for_person).post(notices::publish),
        )
        .route(
            "/safety-notices/{id}",
            get(notices::get_notice)
                .put(notices::revise)
                .delete(notices::withdraw),
        )
        .route("/safety-notices/{id}/versions", get(notices::versions))
        .route(
            "/establishments/{code}/safety-notices/overdue",
            get(notices::overdue),
        )
        .route("/prison-events", post(feed::post_events))
        .route("/events", get(events::pull))
        .route(
            "/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::get_one).delete(subscriptions::delete),
        )
        .route("/subscriptions/{id}/enable", post(subscriptions::enable))
        .route(
            "/subscriptions/{id}/secret",
            post(subscriptions::rotate_secret),
        )
        .route("/subscriptions/{id}/replay", post(subscriptions::replay))
        .route(
            "/subscriptions/{id}/deliveries",
            get(subscriptions::deliveries),
        )
        .route("/appointments", post(appointments::book))
        .route(
            "/appointments/{id}",
            get(appointments::get_one).patch(appointments::change),
        )
        .route(
            "/appointments/{id}/escort",
            axum::routing::put(appointments::plan_escort),
        )
        .route(
            "/appointments/{id}/attendance",
            post(appointments::record_attendance),
        )
        .route("/appointments/{id}/history", get(appointments::history))
        .route(
            "/people/{prisonNumber}/appointments",
            get(appointments::list_for_person),
        )
        .route(
            "/establishments/{code}/appointments",
            get(unlock::unlock_list),
        )
        .route(
            "/establishments/{code}/attendance",
            get(attendance::for_establishment),
        )
        .route("/attendance", get(attendance::across_establishments))
        .route(
            "/establishments/{code}/regime-closures",
            get(closures::list).post(closures::record),
        )
        .route("/regime-closures/{id}", delete(closures::end))
        .route("/establishments", get(establishments::list))
        .route("/establishments/{code}/people", get(establishments::people))
        .route(
            "/establishments/{code}/wings/{wing}/summary",
            get(roll::wing_summary),
        )
        .route(
            "/people/{prisonNumber}/disclosures",
            get(audit::person_disclosures),
        )
        .route("/audit/checkpoint", get(audit::checkpoint))
        .route("/audit/proof/{record}", get(audit::proof))
        .route("/audit/consistency", get(audit::consistency))
        .route("/audit/break-glass", get(audit::break_glass_queue))
        .route(
            "/audit/break-glass/{id}/review",
            post(audit::review_break_glass),
        )
}
