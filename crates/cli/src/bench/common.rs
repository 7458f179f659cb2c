//! Helpers every benchmark shares: cleaning up its database and printing numbers.

use gatehouse_store::EngineKind;
use gatehouse_store::testing::postgres_base_url;

/// Removes a benchmark database: the SQLite file (and its WAL), or the PostgreSQL schema.
pub async fn drop_database(engine: EngineKind, url: &str) {
    match engine {
        EngineKind::Sqlite => {
            if let Some(path) = url.strip_prefix("sqlite://") {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
        EngineKind::Postgres => {
            let Some(schema) = url.split("search_path%3D").nth(1) else {
                return;
            };
            let schema: String = schema
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Ok(pool) = sqlx::PgPool::connect(&postgres_base_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&pool)
                .await;
                pool.close().await;
            }
        }
    }
}

/// A number with thousands separators, e.g. `12,345`.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
