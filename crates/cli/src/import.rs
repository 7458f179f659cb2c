//! `gatehouse import FILE`: load NDJSON prison events straight into the store,
//! in batches, with the same parsing, idempotency and rules as the HTTP feed.

use clap::Args;
use gatehouse_domain::feed::{ItemError, parse_item};
use gatehouse_domain::{Establishment, ParseError};
use gatehouse_store::{BatchMode, FeedEntry, ItemStatus, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader, Read};

#[derive(Args)]
pub struct ImportArgs {
    /// The NDJSON file, or `-` for standard input.
    pub file: String,
    /// Items per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Recorded as the source of what is imported.
    #[arg(long, default_value = "import")]
    pub source: String,
}

#[derive(Default, Debug)]
pub struct Tally {
    pub stored: u64,
    pub superseded: u64,
    pub acknowledged: u64,
    pub rejected: u64,
}

/// Applies values in batches, reporting progress; shared by `import` and `demo`.
pub async fn load(
    store: &dyn Store,
    values: impl Iterator<Item = Result<serde_json::Value, ItemError>>,
    batch: usize,
    source: &str,
    bar: &ProgressBar,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut pending = Vec::with_capacity(batch);
    let mut values = values.peekable();
    while values.peek().is_some() {
        pending.clear();
        let now = chrono::Utc::now();
        for v in values.by_ref().take(batch) {
            pending.push(match v.and_then(|v| parse_item(&v, now)) {
                Ok(item) => FeedEntry::Parsed(Box::new(item)),
                Err(e) => FeedEntry::Refused(e),
            });
        }
        let n = pending.len() as u64;
        for o in store
            .apply_feed(
                std::mem::take(&mut pending),
                BatchMode::Partial,
                source,
                &crate::operator::change("prison-event", "write-feed", &[]),
            )
            .await?
        {
            match o.status {
                ItemStatus::Stored => tally.stored += 1,
                ItemStatus::Superseded => tally.superseded += 1,
                ItemStatus::Acknowledged => tally.acknowledged += 1,
                ItemStatus::Rejected | ItemStatus::NotApplied => {
                    tally.rejected += 1;
                    if let Some(p) = o.problem {
                        // The rule names fields, not people: safe to print.
                        bar.println(format!("item {} refused: {}: {}", o.index, p.field, p.rule));
                    }
                }
            }
        }
        bar.inc(n);
    }
    Ok(tally)
}

pub fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

pub async fn run(url: String, args: ImportArgs) -> anyhow::Result<()> {
    let store = gatehouse_store::connect(&url).await?;
    store.migrate().await?;
    store
        .ensure_establishments(&Establishment::catalogue())
        .await?;
    let reader: Box<dyn Read> = if args.file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&args.file)?)
    };
    let lines = BufReader::new(reader)
        .lines()
        .enumerate()
        .filter_map(|(n, line)| match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(serde_json::from_str(&l).map_err(|e| ItemError {
                event_id: None,
                error: ParseError::new(
                    format!("(line {})", n + 1),
                    format!("is not valid JSON at column {}", e.column()),
                ),
            })),
            Err(e) => Some(Err(ItemError {
                event_id: None,
                error: ParseError::new(
                    format!("(line {})", n + 1),
                    format!("could not be read: {e}"),
                ),
            })),
        });
    let bar = bar(None, "importing");
    let started = std::time::Instant::now();
    let tally = load(store.as_ref(), lines, args.batch.max(1), &args.source, &bar).await?;
    bar.finish_and_clear();
    let total = tally.stored + tally.superseded + tally.acknowledged + tally.rejected;
    println!(
        "{total} items in {:.1}s: {} stored, {} superseded, {} acknowledged, {} refused",
        started.elapsed().as_secs_f64(),
        tally.stored,
        tally.superseded,
        tally.acknowledged,
        tally.rejected
    );
    if tally.rejected > 0 {
        anyhow::bail!("{} items were refused", tally.rejected);
    }
    Ok(())
}
