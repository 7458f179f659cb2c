//! `gatehouse demo`: everything a newcomer needs on a fresh machine.
//!
//! Creates the synthetic demo estate if the database has none (with a year
//! of its healthcare appointments), registers the
//! demo consumers of SCENARIOS.md with **published demo keys** (derived from
//! their names, printed here and in the README, so the README's curl tour
//! works verbatim), and serves. Demo keys are for the demo database only:
//! never use `demo` against real data.

use crate::import::{bar, load};
use base64::Engine as _;
use chrono::{Duration, Utc};
use clap::Args;
use gatehouse_domain::{Establishment, Scope};
use gatehouse_policy::templates::template;
use gatehouse_server::{Application, ServerConfig};
use gatehouse_store::{ImportedAppointment, Store};
use gatehouse_store::{NewConsumer, StoreError, StoredKey};
use gatehouse_synth::appointments::{AppointmentConfig, SynthAppointment};
use gatehouse_synth::{Estate, EstateConfig};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://gatehouse-demo.db";

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seed of the synthetic estate.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Build the estate and consumers, print the keys, and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo consumers: (name, template, establishments).
pub const DEMO_CONSUMERS: &[(&str, &str, &str)] = &[
    ("prison-feed", "prison-feed", "*"),
    ("lei-wing", "prison-wing", "LEI"),
    ("lei-health", "prison-healthcare", "LEI"),
    ("mdi-health", "prison-healthcare", "MDI"),
    ("escort", "escort-contractor", "*"),
    ("ig", "information-governance", "*"),
];

/// The demo staff accounts for the web pages: (username, display name, role,
/// establishments, **published demo password**; demo database only).
pub const DEMO_STAFF: &[(&str, &str, &str, &str, &str)] = &[
    (
        "officer.leeds",
        "Officer Leeds",
        "officer",
        "LEI",
        "demo-officer-leeds",
    ),
    (
        "nurse.leeds",
        "Nurse Leeds",
        "healthcare",
        "LEI",
        "demo-nurse-leeds",
    ),
    // A custodial manager over the three demo prisons: the attendance
    // dashboard across them, with Moorland's lockdown month in it.
    (
        "manager.north",
        "Manager North",
        "officer",
        "LEI,MDI,NHI",
        "demo-manager-north",
    ),
];

/// The published demo key of a demo consumer.
pub fn demo_key(name: &str) -> (String, StoredKey) {
    let prefix = hex::encode(&Sha256::digest(format!("gatehouse-demo-prefix:{name}"))[..4]);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(format!("gatehouse-demo-secret:{name}")));
    let key = format!("gh_{prefix}_{secret}");
    let stored = StoredKey {
        prefix,
        hash: gatehouse_server::auth::hash_key(&key),
    };
    (key, stored)
}

/// A synthetic appointment as the store's bulk import takes it.
/// The issuer of the demo's staff assertions.
pub const DEMO_STAFF_ISSUER: &str = "urn:gatehouse:demo-staff-issuer";

/// A demo consumer's staff identity: an Ed25519 key derived, like its API key,
/// from its name (so it is published: demo databases only), registered as an
/// inline JWKS. `gatehouse staff demo-assertion` signs with it.
pub fn demo_staff_identity(
    name: &str,
) -> (
    gatehouse_server::assertion_signer::AssertionSigner,
    gatehouse_store::StaffIdentity,
) {
    let seed: [u8; 32] = Sha256::digest(format!("gatehouse-demo-staff-assertion:{name}")).into();
    let signer = gatehouse_server::assertion_signer::AssertionSigner::from_seed(
        seed,
        &format!("demo-{name}"),
    );
    let identity = gatehouse_store::StaffIdentity {
        issuer: DEMO_STAFF_ISSUER.into(),
        audience: name.into(),
        claim: gatehouse_store::DEFAULT_STAFF_CLAIM.into(),
        jwks: Some(signer.jwks()),
        jwks_url: None,
    };
    (signer, identity)
}

pub fn imported(a: SynthAppointment) -> ImportedAppointment {
    ImportedAppointment {
        id: a.id,
        prison_number: a.prison_number,
        establishment: a.establishment,
        appointment_type: a.appointment_type,
        starts_at: a.starts_at,
        minutes: a.minutes,
        place: a.place,
        owner: a.owner,
        cancelled: a.cancelled,
        outcome: a.outcome,
        recorded_by: a.recorded_by,
        booked_at: a.booked_at,
    }
}

/// Imports the estate's synthetic year of healthcare appointments (a year
/// back and two weeks ahead of the estate's anchor; `gatehouse_synth::appointments`),
/// in chunks of 10,000 through `Store::import_appointments`.
async fn load_appointments(store: &dyn Store, estate: &Estate) -> anyhow::Result<u64> {
    let config = AppointmentConfig::demo();
    let progress = bar(
        Some(estate.estimated_appointments(&config)),
        "booking a synthetic year of healthcare appointments",
    );
    let mut stored = 0;
    for chunk in estate.appointments(config) {
        let rows: Vec<ImportedAppointment> = chunk.into_iter().map(imported).collect();
        let audit = crate::operator::change("appointments", "import-appointments", &["demo"]);
        stored += store.import_appointments(&rows, &audit).await?;
        progress.inc(rows.len() as u64);
    }
    progress.finish_and_clear();
    // Warm the attendance figures' cache once, so the dashboard's first read
    // does not rebuild every prison-week of the year.
    let now = Utc::now().date_naive();
    store
        .attendance_figures(&gatehouse_store::TallyQuery {
            establishments: vec![],
            from: now - Duration::days(400),
            to: now + Duration::days(400),
        })
        .await?;
    Ok(stored)
}

pub async fn run(url: String, args: DemoArgs) -> anyhow::Result<()> {
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    store
        .ensure_establishments(&Establishment::catalogue())
        .await?;

    if store.counts().await?.people == 0 {
        // Anchored a minute ago, so every synthetic event lies in the past and plans lie ahead.
        let estate = Estate::new(EstateConfig {
            seed: args.seed,
            ..EstateConfig::demo(Utc::now() - Duration::minutes(1))
        });
        store
            .ensure_establishments(&estate.establishments())
            .await?;
        let progress = bar(
            Some(estate.estimated_items()),
            "building the synthetic demo estate",
        );
        let tally = load(
            store.as_ref(),
            estate.items().map(Ok),
            500,
            "synthetic-prison-feed",
            &progress,
        )
        .await?;
        progress.finish_and_clear();
        println!(
            "demo estate built: {} people, {} items stored",
            estate.person_count(),
            tally.stored + tally.superseded
        );
        let booked = load_appointments(store.as_ref(), &estate).await?;
        println!("a synthetic year of healthcare appointments: {booked} stored");
    } else {
        println!("demo estate already present in {url}");
    }

    for (name, tpl, est) in DEMO_CONSUMERS {
        let t = template(tpl).expect("demo templates exist");
        let (_, stored) = demo_key(name);
        let new = NewConsumer {
            name: (*name).into(),
            org_type: t.org_type,
            agreement: t.name.into(),
            agreement_text: t.text.into(),
            scope: Scope::parse(est)?,
        };
        let audit = crate::operator::change("consumer", "add-consumer", &["demo"]);
        match store.create_consumer(&new, &stored, &audit).await {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let (_, identity) = demo_staff_identity(name);
        store
            .set_staff_identity(
                name,
                Some(&identity),
                &crate::operator::change("consumer", "set-staff-identity", &["demo"]),
            )
            .await?;
    }

    for (username, display, role, est, password) in DEMO_STAFF {
        let role = gatehouse_store::StaffRole::parse(role)?;
        match crate::staff::add_user(
            store.as_ref(),
            username,
            display,
            role,
            Scope::parse(est)?,
            password,
        )
        .await
        {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.downcast_ref::<StoreError>(),
                    Some(StoreError::Conflict(_))
                ) => {}
            Err(e) => return Err(e),
        }
    }

    let app = Application::build_with_store(
        ServerConfig {
            database_url: url.clone(),
            listen: args.listen,
            ..ServerConfig::default()
        },
        store,
    )
    .await;
    let app = match app {
        Ok(app) => app,
        Err(e) => anyhow::bail!(
            "could not listen on {}: {e} (pass --listen 127.0.0.1:PORT)",
            args.listen
        ),
    };
    let base = format!("http://{}", app.local_addr());
    println!("\nGatehouse demo is running at {base}\n");
    println!("Demo consumers and their published demo keys (demo database only):");
    for (name, tpl, est) in DEMO_CONSUMERS {
        println!("  {name:<12} {tpl:<24} {est:<4} {}", demo_key(name).0);
    }
    println!("\nStaff pages at {base}/ (published demo passwords, demo database only):");
    for (username, _, role, est, password) in DEMO_STAFF {
        println!("  {username:<14} {role:<11} {est:<4} password {password}");
    }
    println!("\nTry:");
    println!("  {base}/docs                      the API reference");
    println!(
        "  curl -H 'Authorization: Bearer {}' {base}/v1/people/A1234BC",
        demo_key("lei-health").0
    );
    println!(
        "  curl -H 'Authorization: Bearer {}' {base}/v1/people/A1234BC/alerts",
        demo_key("lei-wing").0
    );
    println!("  curl {base}/health/ready");
    println!(
        "\nRequests name a staff user with a signed assertion; mint a demo one with\n  gatehouse staff demo-assertion --consumer lei-health --user nurse.leeds"
    );
    println!("\nThe README has the full tour. Ctrl-C stops the server.");
    if args.no_serve {
        return Ok(());
    }
    app.run_until_stopped(crate::shutdown_signal()).await
}
