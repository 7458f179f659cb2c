//! Start-up in three steps, so tests can run the real server on port 0:
//! [`Application::build`] connects, migrates, seeds and binds;
//! [`Application::port`] says where; [`Application::run_until_stopped`] serves
//! until the shutdown future completes.

use crate::config::ServerConfig;
use crate::http;
use crate::state::AppState;
use crate::telemetry;
use gatehouse_domain::Establishment;
use gatehouse_policy::CedarAuthorizer;
use gatehouse_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    body_limit: usize,
}

impl Application {
    /// Connects to the database named in the config, migrates it and binds.
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        let store = gatehouse_store::connect(&config.database_url).await?;
        Self::build_with_store(config, store).await
    }

    /// Builds on a store already opened (tests and the demo share one).
    pub async fn build_with_store(
        config: ServerConfig,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<Self> {
        store.migrate().await?;
        store
            .ensure_establishments(&Establishment::catalogue())
            .await?;
        let names = store
            .list_establishments()
            .await?
            .into_iter()
            .map(|e| (e.code.as_str().to_owned(), e.name))
            .collect();
        let listener = TcpListener::bind(config.listen).await?;
        let signer = crate::audit::checkpoints::load_or_create_key(&config.audit_key_path())?;
        let checkpoints = Arc::new(crate::audit::checkpoints::Checkpointer::new(
            signer,
            store.clone(),
            config.checkpoint_every_records,
            config.checkpoint_every,
        ));
        let authorizer: Arc<dyn gatehouse_policy::Authorizer> = Arc::new(CedarAuthorizer::new());
        let audit = config
            .audit
            .then(|| crate::audit::AuditWriter::spawn(store.clone()));
        let delivery = crate::delivery::Delivery::new(
            store.clone(),
            authorizer.clone(),
            audit.clone(),
            config.delivery.clone(),
        );
        // One cache of fetched key sets, for staff assertions and the OpenID Connect provider.
        let jwks = Arc::new(crate::jwks::JwksCache::new());
        let state = AppState {
            audit,
            checkpoints,
            delivery,
            store,
            authorizer,
            metrics: telemetry::metrics_handle(),
            max_batch_items: config.max_batch_items,
            establishment_names: Arc::new(names),
            staff_assertions: Arc::new(crate::staff_assertion::StaffAssertions::new(
                jwks.clone(),
                config.assertion_leeway,
            )),
            oidc: config
                .oidc
                .clone()
                .map(|c| Arc::new(crate::http::web::oidc::Oidc::new(c, jwks))),
        };
        Ok(Self {
            listener,
            state,
            body_limit: config.body_limit,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Delivery runs beside the server and stops with it.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        self.state.delivery.spawn(stopped);
        let router = http::router(self.state, self.body_limit);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        served?;
        Ok(())
    }
}
