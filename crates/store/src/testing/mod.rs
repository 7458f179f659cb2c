//! Fresh, isolated databases for tests and benchmarks, on both engines.
//!
//! SQLite: a new file in the temp directory. PostgreSQL: a new schema in the
//! database named by `GATEHOUSE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), selected through the
//! connection's `search_path`, so parallel tests never collide.
//! PostgreSQL being unreachable is an error, never a skip.
//!
//! [`audit_attacks`]: what an operator could do to the audit behind Gatehouse's back.

use crate::{EngineKind, Store, connect};

pub mod audit_attacks;
use std::sync::Arc;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_base_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn unique(tag: &str) -> String {
    let tag: String = tag.chars().take(24).collect();
    format!("gh_{tag}_{}", uuid::Uuid::new_v4().simple())
}

/// A URL for a fresh, empty database of the given engine.
pub async fn fresh_url(engine: EngineKind, tag: &str) -> String {
    let name = unique(
        &tag.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_lowercase(),
    );
    match engine {
        EngineKind::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            format!("sqlite://{}", path.display())
        }
        EngineKind::Postgres => {
            let base = postgres_base_url();
            let pool = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {base} is required for the test suite and cannot be reached: {e}"
                )
            });
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&pool)
                .await
                .expect("create test schema");
            pool.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-csearch_path%3D{name}")
        }
    }
}

/// A fresh, migrated store with the built-in establishment catalogue.
pub async fn fresh_store(engine: EngineKind, tag: &str) -> Arc<dyn Store> {
    fresh_store_with_url(engine, tag).await.0
}

/// A fresh store and its URL, for tests that must also reach the database directly.
pub async fn fresh_store_with_url(engine: EngineKind, tag: &str) -> (Arc<dyn Store>, String) {
    let url = fresh_url(engine, tag).await;
    let store = connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", engine.as_str()));
    store.migrate().await.expect("migrate");
    store
        .ensure_establishments(&gatehouse_domain::Establishment::catalogue())
        .await
        .expect("establishments");
    (store, url)
}

/// Runs SQL straight against a test database, bypassing Gatehouse (tamper tests).
pub async fn execute_raw(url: &str, sql: &str) {
    let statement = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url)
            .await
            .expect("connect sqlite");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect postgres");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }
}

/// Both engines, for tests that must hold on each.
pub const ENGINES: [EngineKind; 2] = [EngineKind::Sqlite, EngineKind::Postgres];
