// The baseline's engine code: `include!`d by `baseline::sqlite` and
// `baseline::postgres`, each of which defines `Db`, `DDL` and `begin()`.
// SQL here uses `$n` placeholders, which both engines accept.

use super::{AlertRow, Method, MovementRow, PersonRow, PlannedRow, Row, rows_per_statement};

/// A migrated database with the baseline tables added.
pub struct Baseline {
    pool: sqlx::Pool<Db>,
}

impl Baseline {
    pub async fn create(pool: sqlx::Pool<Db>) -> anyhow::Result<Self> {
        for statement in DDL {
            sqlx::query(*statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

const PERSON_HEAD: &str = "INSERT INTO bench_people (prison_number, given_name, family_name, family_name_key, \
     date_of_birth, nhs_number, details_as_of, details_source, created_at, updated_at) ";
const PERSON_COLUMNS: usize = 10;
const INSERT_PERSON: &str = "INSERT INTO bench_people (prison_number, given_name, family_name, family_name_key, \
     date_of_birth, nhs_number, details_as_of, details_source, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const MOVEMENT_HEAD: &str = "INSERT INTO bench_movements (prison_number, kind, reason, establishment, destination, \
     cell, occurred_at, event_id, source, recorded_at) ";
const MOVEMENT_COLUMNS: usize = 10;
const INSERT_MOVEMENT: &str = "INSERT INTO bench_movements (prison_number, kind, reason, establishment, destination, \
     cell, occurred_at, event_id, source, recorded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const ALERT_HEAD: &str = "INSERT INTO bench_alerts (prison_number, alert_id, code, active, active_from, active_to, \
     as_of, source, updated_at) ";
const ALERT_COLUMNS: usize = 9;
const INSERT_ALERT: &str = "INSERT INTO bench_alerts (prison_number, alert_id, code, active, active_from, active_to, \
     as_of, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const PLANNED_HEAD: &str = "INSERT INTO bench_planned (plan_id, prison_number, kind, establishment, destination, \
     planned_for, description, status, as_of, source, updated_at) ";
const PLANNED_COLUMNS: usize = 11;
const INSERT_PLANNED: &str = "INSERT INTO bench_planned (plan_id, prison_number, kind, establishment, destination, \
     planned_for, description, status, as_of, source, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

impl Baseline {
    pub async fn write(&self, rows: &[Row], method: Method) -> anyhow::Result<()> {
        let mut tx = begin(&self.pool).await?;
        match method {
            Method::SingleRow => {
                for row in rows {
                    single(&mut tx, row).await?;
                }
            }
            Method::MultiRow => {
                let mut people = Vec::new();
                let mut movements = Vec::new();
                let mut alerts = Vec::new();
                let mut planned = Vec::new();
                for row in rows {
                    match row {
                        Row::Person(r) => people.push(r),
                        Row::Movement(r) => movements.push(r),
                        Row::Alert(r) => alerts.push(r),
                        Row::Planned(r) => planned.push(r),
                    }
                }
                for chunk in people.chunks(rows_per_statement(PERSON_COLUMNS)) {
                    multi_people(&mut tx, chunk).await?;
                }
                for chunk in movements.chunks(rows_per_statement(MOVEMENT_COLUMNS)) {
                    multi_movements(&mut tx, chunk).await?;
                }
                for chunk in alerts.chunks(rows_per_statement(ALERT_COLUMNS)) {
                    multi_alerts(&mut tx, chunk).await?;
                }
                for chunk in planned.chunks(rows_per_statement(PLANNED_COLUMNS)) {
                    multi_planned(&mut tx, chunk).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn rows(&self) -> anyhow::Result<i64> {
        use sqlx::Row as _;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM bench_people) + (SELECT COUNT(*) FROM bench_movements) \
             + (SELECT COUNT(*) FROM bench_alerts) + (SELECT COUNT(*) FROM bench_planned) AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}

async fn single(tx: &mut sqlx::Transaction<'static, Db>, row: &Row) -> sqlx::Result<()> {
    match row {
        Row::Person(p) => {
            sqlx::query(INSERT_PERSON)
                .bind(p.prison_number.as_str())
                .bind(p.given_name.as_deref())
                .bind(p.family_name.as_deref())
                .bind(p.family_name_key.as_deref())
                .bind(p.date_of_birth)
                .bind(p.nhs_number.as_deref())
                .bind(p.details_as_of)
                .bind(p.details_source.as_str())
                .bind(p.created_at)
                .bind(p.updated_at)
                .execute(&mut **tx)
                .await?;
        }
        Row::Movement(m) => {
            sqlx::query(INSERT_MOVEMENT)
                .bind(m.prison_number.as_str())
                .bind(m.kind)
                .bind(m.reason)
                .bind(m.establishment.as_str())
                .bind(m.destination.as_deref())
                .bind(m.cell.as_deref())
                .bind(m.occurred_at)
                .bind(m.event_id.as_str())
                .bind(m.source.as_str())
                .bind(m.recorded_at)
                .execute(&mut **tx)
                .await?;
        }
        Row::Alert(a) => {
            sqlx::query(INSERT_ALERT)
                .bind(a.prison_number.as_str())
                .bind(a.alert_id.as_str())
                .bind(a.code.as_str())
                .bind(a.active)
                .bind(a.active_from)
                .bind(a.active_to)
                .bind(a.as_of)
                .bind(a.source.as_str())
                .bind(a.updated_at)
                .execute(&mut **tx)
                .await?;
        }
        Row::Planned(p) => {
            sqlx::query(INSERT_PLANNED)
                .bind(p.plan_id.as_str())
                .bind(p.prison_number.as_str())
                .bind(p.kind)
                .bind(p.establishment.as_str())
                .bind(p.destination.as_deref())
                .bind(p.planned_for)
                .bind(p.description.as_deref())
                .bind(p.status)
                .bind(p.as_of)
                .bind(p.source.as_str())
                .bind(p.updated_at)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

// Multi-row statements vary in length from batch to batch, so they are not
// kept as prepared statements (`persistent(false)`): caching them would only
// evict one another.

async fn multi_people(
    tx: &mut sqlx::Transaction<'static, Db>,
    rows: &[&PersonRow],
) -> sqlx::Result<()> {
    let mut q = sqlx::QueryBuilder::<Db>::new(PERSON_HEAD);
    q.push_values(rows, |mut b, p| {
        b.push_bind(p.prison_number.as_str())
            .push_bind(p.given_name.as_deref())
            .push_bind(p.family_name.as_deref())
            .push_bind(p.family_name_key.as_deref())
            .push_bind(p.date_of_birth)
            .push_bind(p.nhs_number.as_deref())
            .push_bind(p.details_as_of)
            .push_bind(p.details_source.as_str())
            .push_bind(p.created_at)
            .push_bind(p.updated_at);
    });
    q.build().persistent(false).execute(&mut **tx).await?;
    Ok(())
}

async fn multi_movements(
    tx: &mut sqlx::Transaction<'static, Db>,
    rows: &[&MovementRow],
) -> sqlx::Result<()> {
    let mut q = sqlx::QueryBuilder::<Db>::new(MOVEMENT_HEAD);
    q.push_values(rows, |mut b, m| {
        b.push_bind(m.prison_number.as_str())
            .push_bind(m.kind)
            .push_bind(m.reason)
            .push_bind(m.establishment.as_str())
            .push_bind(m.destination.as_deref())
            .push_bind(m.cell.as_deref())
            .push_bind(m.occurred_at)
            .push_bind(m.event_id.as_str())
            .push_bind(m.source.as_str())
            .push_bind(m.recorded_at);
    });
    q.build().persistent(false).execute(&mut **tx).await?;
    Ok(())
}

async fn multi_alerts(
    tx: &mut sqlx::Transaction<'static, Db>,
    rows: &[&AlertRow],
) -> sqlx::Result<()> {
    let mut q = sqlx::QueryBuilder::<Db>::new(ALERT_HEAD);
    q.push_values(rows, |mut b, a| {
        b.push_bind(a.prison_number.as_str())
            .push_bind(a.alert_id.as_str())
            .push_bind(a.code.as_str())
            .push_bind(a.active)
            .push_bind(a.active_from)
            .push_bind(a.active_to)
            .push_bind(a.as_of)
            .push_bind(a.source.as_str())
            .push_bind(a.updated_at);
    });
    q.build().persistent(false).execute(&mut **tx).await?;
    Ok(())
}

async fn multi_planned(
    tx: &mut sqlx::Transaction<'static, Db>,
    rows: &[&PlannedRow],
) -> sqlx::Result<()> {
    let mut q = sqlx::QueryBuilder::<Db>::new(PLANNED_HEAD);
    q.push_values(rows, |mut b, p| {
        b.push_bind(p.plan_id.as_str())
            .push_bind(p.prison_number.as_str())
            .push_bind(p.kind)
            .push_bind(p.establishment.as_str())
            .push_bind(p.destination.as_deref())
            .push_bind(p.planned_for)
            .push_bind(p.description.as_deref())
            .push_bind(p.status)
            .push_bind(p.as_of)
            .push_bind(p.source.as_str())
            .push_bind(p.updated_at);
    });
    q.build().persistent(false).execute(&mut **tx).await?;
    Ok(())
}
