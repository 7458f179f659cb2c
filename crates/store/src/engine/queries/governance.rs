// ---------------------------------------------------------------- governance

async fn set_agreement(pool: &sqlx::Pool<Db>, consumer: &str, agreement: &str, text: &str, audit: &WriteAudit) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query("UPDATE consumers SET agreement = $1, agreement_text = $2, agreement_updated_at = $3 WHERE name = $4 AND revoked_at IS NULL")
        .bind(agreement)
        .bind(text)
        .bind(now())
        .bind(consumer)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 1 {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
        record_change(&mut tx, audit, &[format!("consumer/{consumer}:agreement/{agreement}@sha256:{digest}")]).await?;
    }
    tx.commit().await?;
    Ok(done == 1)
}

fn audit_row_from(row: &DbRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: col(row, "seq")?,
        recorded_at: col(row, "recorded_at")?,
        prison_number: col(row, "prison_number")?,
        consumer: col(row, "consumer")?,
        content: col(row, "content")?,
        leaf_hash: col(row, "leaf_hash")?,
        chain: col(row, "chain")?,
    })
}

fn head_from(row: &DbRow) -> Result<AuditHead> {
    let frontier: String = col(row, "frontier")?;
    Ok(AuditHead { size: col(row, "size")?, chain: col(row, "chain")?, frontier: parsed("audit_head.frontier", serde_json::from_str(&frontier))? })
}

async fn append_audit(pool: &sqlx::Pool<Db>, records: &[NewDisclosure]) -> Result<Vec<i64>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let mut tx = begin_write(pool).await?;
    let seqs = append_audit_in(&mut tx, records).await?;
    tx.commit().await?;
    Ok(seqs)
}

/// Appends records inside the caller's transaction: a change and its record
/// commit or roll back together.
///
/// Call it last, just before commit. The head row is the append lock (every
/// instance appends in one order), and taking it after the change's own row
/// locks keeps one lock order for every writer (people, then the head), so
/// writers cannot deadlock on it, and it is held only for the commit.
async fn append_audit_in(tx: &mut Tx<'_>, records: &[NewDisclosure]) -> Result<Vec<i64>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let head = head_from(&sqlx::query(LOCK_AUDIT_HEAD).fetch_one(&mut **tx).await?)?;
    let mut log = crate::audit_link::Appender::resume(&head).map_err(StoreError::corrupt)?;
    let at = now();
    let mut seqs = Vec::with_capacity(records.len());
    for r in records {
        let (seq, leaf, chain) = log.append(r.content.as_bytes());
        sqlx::query("INSERT INTO audit_log (seq, recorded_at, prison_number, consumer, content, leaf_hash, chain) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(seq)
            .bind(at)
            .bind(&r.prison_number)
            .bind(&r.consumer)
            .bind(&r.content)
            .bind(&leaf)
            .bind(&chain)
            .execute(&mut **tx)
            .await?;
        seqs.push(seq);
    }
    let next = log.head();
    sqlx::query("UPDATE audit_head SET size = $1, chain = $2, frontier = $3 WHERE id = 1")
        .bind(next.size)
        .bind(&next.chain)
        .bind(serde_json::to_string(&next.frontier).expect("hex strings serialise"))
        .execute(&mut **tx)
        .await?;
    Ok(seqs)
}

/// Appends a change's record (if the audit is on), with what it wrote.
async fn record_change(tx: &mut Tx<'_>, audit: &WriteAudit, wrote: &[String]) -> Result<()> {
    if let Some(r) = audit.written(wrote) {
        append_audit_in(tx, &[r]).await?;
    }
    Ok(())
}

async fn audit_head(pool: &sqlx::Pool<Db>) -> Result<AuditHead> {
    head_from(&sqlx::query("SELECT * FROM audit_head WHERE id = 1").fetch_one(pool).await?)
}

async fn audit_rows(pool: &sqlx::Pool<Db>, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2").bind(after).bind(limit).fetch_all(pool).await?;
    rows.iter().map(audit_row_from).collect()
}

async fn audit_row(pool: &sqlx::Pool<Db>, seq: i64) -> Result<Option<AuditRow>> {
    let row = sqlx::query("SELECT * FROM audit_log WHERE seq = $1").bind(seq).fetch_optional(pool).await?;
    row.as_ref().map(audit_row_from).transpose()
}

async fn audit_for_person(pool: &sqlx::Pool<Db>, pn: &PrisonNumber, page: &PageRequest) -> Result<Page<AuditRow>> {
    let before = page.after.as_ref().map(|c| c.seq).unwrap_or(i64::MAX);
    let rows = sqlx::query("SELECT * FROM audit_log WHERE prison_number = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3")
        .bind(pn.as_str())
        .bind(before)
        .bind(page.limit + 1)
        .fetch_all(pool)
        .await?;
    let items = rows.iter().map(audit_row_from).collect::<Result<Vec<_>>>()?;
    Ok(page_of(items, page.limit, |r| Cursor { key: String::new(), seq: r.seq }))
}

async fn audit_leaf_hashes(pool: &sqlx::Pool<Db>, size: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT leaf_hash FROM audit_log WHERE seq <= $1 ORDER BY seq").bind(size).fetch_all(pool).await?;
    rows.iter().map(|r| col(r, "leaf_hash")).collect()
}

async fn save_checkpoint(pool: &sqlx::Pool<Db>, c: &StoredCheckpoint) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query("INSERT INTO audit_checkpoints (size, root, signed, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING")
        .bind(c.size)
        .bind(&c.root)
        .bind(&c.signed)
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn checkpoint_from(r: &DbRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint { size: col(r, "size")?, root: col(r, "root")?, signed: col(r, "signed")?, created_at: col(r, "created_at")? })
}

async fn checkpoints(pool: &sqlx::Pool<Db>) -> Result<Vec<StoredCheckpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size").fetch_all(pool).await?;
    rows.iter().map(checkpoint_from).collect()
}

async fn latest_checkpoint(pool: &sqlx::Pool<Db>) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(pool).await?;
    row.as_ref().map(checkpoint_from).transpose()
}

async fn checkpoint_at(pool: &sqlx::Pool<Db>, size: i64) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query("SELECT * FROM audit_checkpoints WHERE size = $1").bind(size).fetch_optional(pool).await?;
    row.as_ref().map(checkpoint_from).transpose()
}

async fn checkpoints_between(pool: &sqlx::Pool<Db>, after: i64, upto: i64) -> Result<Vec<StoredCheckpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints WHERE size > $1 AND size <= $2 ORDER BY size").bind(after).bind(upto).fetch_all(pool).await?;
    rows.iter().map(checkpoint_from).collect()
}

fn break_glass_from(row: &DbRow) -> Result<BreakGlassRecord> {
    Ok(BreakGlassRecord {
        id: col(row, "id")?,
        consumer: col(row, "consumer")?,
        staff_user: col(row, "staff_user")?,
        prison_number: col(row, "prison_number")?,
        reason: col(row, "reason")?,
        started_at: col(row, "started_at")?,
        expires_at: col(row, "expires_at")?,
        uses: col(row, "uses")?,
        status: col(row, "status")?,
        reviewed_by: col(row, "reviewed_by")?,
        reviewed_at: col(row, "reviewed_at")?,
        outcome: col(row, "outcome")?,
        note: col(row, "note")?,
    })
}

async fn break_glass_use(pool: &sqlx::Pool<Db>, consumer: &str, staff: &str, pn: &str, reason: &str, window: chrono::Duration, audit: &WriteAudit) -> Result<BreakGlassRecord> {
    let mut tx = begin_write(pool).await?;
    let at = now();
    let open = sqlx::query(
        "SELECT * FROM break_glass WHERE consumer = $1 AND staff_user = $2 AND prison_number = $3 AND expires_at > $4 ORDER BY started_at DESC LIMIT 1",
    )
    .bind(consumer)
    .bind(staff)
    .bind(pn)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match open {
        Some(row) => {
            let id: String = col(&row, "id")?;
            sqlx::query("UPDATE break_glass SET uses = uses + 1 WHERE id = $1").bind(&id).execute(&mut *tx).await?;
            id
        }
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO break_glass (id, consumer, staff_user, prison_number, reason, started_at, expires_at, uses, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(consumer)
            .bind(staff)
            .bind(pn)
            .bind(reason)
            .bind(at)
            .bind(at + window)
            .bind(1i64)
            .bind("unreviewed")
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
    record_change(&mut tx, audit, &[format!("break-glass/{id}")]).await?;
    tx.commit().await?;
    break_glass_from(&row)
}

async fn break_glass_list(pool: &sqlx::Pool<Db>, status: Option<&str>) -> Result<Vec<BreakGlassRecord>> {
    let rows = sqlx::query("SELECT * FROM break_glass WHERE (status = $1 OR $2) ORDER BY started_at DESC LIMIT 500")
        .bind(status.unwrap_or(""))
        .bind(status.is_none())
        .fetch_all(pool)
        .await?;
    rows.iter().map(break_glass_from).collect()
}

async fn break_glass_review(pool: &sqlx::Pool<Db>, id: &str, reviewer: &str, outcome: &str, note: Option<&str>, audit: &WriteAudit) -> Result<BreakGlassRecord> {
    let mut tx = begin_write(pool).await?;
    let Some(row) = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(id).fetch_optional(&mut *tx).await? else {
        return Err(StoreError::NotFound("no break-glass use with this id".into()));
    };
    if col::<String>(&row, "status")? == "reviewed" {
        return Err(StoreError::Conflict("this break-glass use has already been reviewed".into()));
    }
    sqlx::query("UPDATE break_glass SET status = $1, reviewed_by = $2, reviewed_at = $3, outcome = $4, note = $5 WHERE id = $6")
        .bind("reviewed")
        .bind(reviewer)
        .bind(now())
        .bind(outcome)
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT * FROM break_glass WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    record_change(&mut tx, audit, &[format!("break-glass/{id}:reviewed:{outcome}")]).await?;
    tx.commit().await?;
    break_glass_from(&row)
}
