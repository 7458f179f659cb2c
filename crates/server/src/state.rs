//! Shared application state.

use gatehouse_policy::Authorizer;
use gatehouse_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// The disclosure audit writer; `None` only when auditing is switched off for a benchmark baseline.
    pub audit: Option<crate::audit::AuditWriter>,
    /// The signed-checkpoint service.
    pub checkpoints: Arc<crate::audit::checkpoints::Checkpointer>,
    pub store: Arc<dyn Store>,
    /// Small partial feed writes, applied together (group commit).
    pub feed_writer: crate::feed_writer::FeedWriter,
    /// Event delivery: woken after every change, long-polled by the pull feed.
    pub delivery: crate::delivery::Delivery,
    pub authorizer: Arc<dyn Authorizer>,
    pub metrics: PrometheusHandle,
    pub max_batch_items: usize,
    /// Establishment names by code, loaded at start-up.
    pub establishment_names: Arc<HashMap<String, String>>,
    /// Verifies the signed staff assertions of API requests.
    pub staff_assertions: Arc<crate::staff_assertion::StaffAssertions>,
    /// Staff sign-in through an OpenID Connect provider, when configured.
    pub oidc: Option<Arc<crate::http::web::oidc::Oidc>>,
}

impl AppState {
    pub fn establishment_name(&self, code: &str) -> Option<String> {
        self.establishment_names.get(code).cloned()
    }
}
