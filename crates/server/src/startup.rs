//! Start-up in three steps, so tests can run the real server on port 0:
//! [`Application::build`] connects, migrates, seeds and binds;
//! [`Application::port`] says where; [`Application::run_until_stopped`] serves
//! until the shutdown future completes.

use crate::config::ServerConfig;
use crate::http;
use crate::state::AppState;
use crate::telemetry;
use crate::tls::{TlsListener, TlsPeer};
use gatehouse_domain::Establishment;
use gatehouse_policy::CedarAuthorizer;
use gatehouse_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: Bound,
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
        // Checked before binding, so a bad certificate or key stops start-up.
        let tls = config
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let listener = TcpListener::bind(config.listen).await?;
        let listener = match tls {
            None => Bound::Plain(listener),
            Some(tls) => Bound::Tls(TlsListener::new(listener, tls)?),
        };
        let signer = crate::audit::checkpoints::signer_for(&config)?;
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
        let mut delivery_config = config.delivery.clone();
        delivery_config.checkpoint = checkpoints.latest();
        let delivery = crate::delivery::Delivery::new(
            store.clone(),
            authorizer.clone(),
            audit.clone(),
            delivery_config,
        );
        // One cache of fetched key sets, for staff assertions and the OpenID Connect provider.
        let jwks = Arc::new(crate::jwks::JwksCache::new());
        let state = AppState {
            audit,
            checkpoints,
            delivery,
            feed_writer: crate::feed_writer::FeedWriter::spawn(store.clone()),
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
        match &self.listener {
            Bound::Plain(l) => l.local_addr().expect("a bound listener has an address"),
            Bound::Tls(l) => {
                axum::serve::Listener::local_addr(l).expect("a bound listener has an address")
            }
        }
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self.listener {
            Bound::Plain(_) => "http",
            Bound::Tls(_) => "https",
        }
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
        let checkpointing = self.state.checkpoints.clone().spawn(stopped.clone());
        self.state.delivery.spawn(stopped);
        let router = http::router(self.state, self.body_limit);
        let served = match self.listener {
            Bound::Plain(listener) => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            // Each request carries what its connection proved (ConnectInfo<TlsPeer>).
            Bound::Tls(listener) => {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<TlsPeer>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            }
        };
        let _ = stop.send(true);
        // The checkpointer signs the last records before the process ends.
        let _ = checkpointing.await;
        served?;
        Ok(())
    }
}

/// The listening socket: plain HTTP (the default) or TLS.
enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}
