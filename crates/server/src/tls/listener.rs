//! A TLS listener for `axum::serve`, so HTTPS keeps the same graceful
//! shutdown as plain HTTP.
//!
//! Handshakes run in their own tasks, never in `accept`: a client that opens
//! a connection and stalls must not hold up everyone behind it. Each has a
//! time limit, and only so many run at once. A handshake that fails (wrong
//! CA, expired certificate, none when one is required, not TLS at all) is
//! counted and logged and never reaches the app: no handler runs for it.

use crate::client_cert::ClientCertificate;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more wait for a slot, in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

type Accepted = (TlsStream<TcpStream>, SocketAddr);

pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<Accepted>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(Self {
            local_addr,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    // axum drops the listener when shutdown begins: stop taking connections.
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(tcp: TcpListener, tls: TlsAcceptor, ready: mpsc::Sender<Accepted>) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, remote) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, as axum does for plain TCP.
                tracing::error!(error = %e, "accepting a TCP connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let done = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await;
            drop(slot);
            match done {
                Ok(Ok(stream)) => {
                    // Fails only when the server is shutting down; the connection just closes.
                    let _ = ready.send((stream, remote)).await;
                }
                Ok(Err(e)) => refused(&e.to_string()),
                Err(_) => refused("the handshake took too long"),
            }
        });
    }
}

fn refused(reason: &str) {
    metrics::counter!("gatehouse_tls_handshakes_refused_total").increment(1);
    // The reason is rustls's (e.g. "invalid peer certificate: Expired"); no
    // address or certificate contents are logged.
    tracing::info!(reason, "TLS handshake refused");
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// What the connection proved about the client, attached to every request on
/// it as `ConnectInfo<TlsPeer>`.
#[derive(Debug, Clone)]
pub struct TlsPeer {
    pub remote: SocketAddr,
    /// The client's certificate, verified against the client CA in the handshake.
    pub client_cert: Option<ClientCertificate>,
}

impl Connected<IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, session) = stream.io().get_ref();
        let client_cert = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| ClientCertificate::from_der(leaf));
        Self {
            remote: *stream.remote_addr(),
            client_cert,
        }
    }
}
