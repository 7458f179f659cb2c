//! Server-rendered SVG charts for the attendance dashboard, drawn from
//! [`Figures`]: no JavaScript, no chart library, no external request.
//!
//! Rules every chart keeps:
//! - *Did not attend* and *was not brought* are separate series ([`Kind`]),
//!   each read from its own fields of [`Measures`]; no series adds them up.
//! - Each SVG names itself (`<title>`, `<desc>`, `role="img"`) and comes with
//!   a [`Table`] of the same numbers, for screen readers and for print.
//! - Colours come as presentation attributes, never `style` (the pages'
//!   CSP refuses inline styles), and each series also has its own dash or
//!   pattern, so colour is never the only cue.
//! - No input makes a NaN or an infinity reach the SVG: such a value is
//!   drawn as missing, like a week when nothing was due.

use super::fmt;
use chrono::NaiveDate;
use gatehouse_domain::attendance::{Figures, Measures, Slice};
use std::fmt::Write;

/// What a series measures. DNA and WNB are different kinds, so one series
/// can never hold both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Attended,
    DidNotAttend,
    WasNotBrought,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Attended => "Attended",
            Self::DidNotAttend => "Did not attend (patient's choice)",
            Self::WasNotBrought => "Was not brought (prison's reason)",
        }
    }

    /// The `data-series` value, for tests and print styles.
    pub fn key(self) -> &'static str {
        match self {
            Self::Attended => "attended",
            Self::DidNotAttend => "did-not-attend",
            Self::WasNotBrought => "was-not-brought",
        }
    }

    /// GOV.UK palette colours that stay apart for the common colour-vision deficiencies.
    fn colour(self) -> &'static str {
        match self {
            Self::Attended => "#1d70b8",
            Self::DidNotAttend => "#f47738",
            Self::WasNotBrought => "#912b88",
        }
    }

    fn dash(self) -> &'static str {
        match self {
            Self::Attended => "",
            Self::DidNotAttend => " stroke-dasharray=\"8 4\"",
            Self::WasNotBrought => " stroke-dasharray=\"2 3\"",
        }
    }
}

/// One measure over the chart's categories (weeks, establishments, reasons).
#[derive(Debug, Clone)]
pub struct Series {
    pub kind: Kind,
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// How values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 0–1, shown as a percentage; the axis always runs 0–100%.
    Rate,
    Count,
    Hours,
}

impl Scale {
    fn show(self, v: f64) -> String {
        match self {
            Self::Rate => pct(Some(v)),
            Self::Count => format!("{}", v.round() as i64),
            Self::Hours => format!("{v:.1} h"),
        }
    }
}

/// The data table that goes with a chart (and stands in for it).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A chart ready for a page: its heading, its SVG and its table.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: String,
    pub heading: String,
    pub svg: String,
    pub table: Table,
}

/// "0.8214" → "82.1%"; absent (nothing was due) → "–".
pub fn pct(rate: Option<f64>) -> String {
    match rate.filter(|r| r.is_finite()) {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "–".to_owned(),
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Text and attribute escaping for SVG (XML).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A round number at or above `max`, so axis ticks fall on readable values.
fn nice_max(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|c| *c >= max)
        .unwrap_or(10.0 * mag)
}

/// "2026-01-05" → "5 Jan"; anything else as it is.
fn week_label(key: &str) -> String {
    NaiveDate::parse_from_str(key, "%Y-%m-%d")
        .map(|d| d.format("%-d %b").to_string())
        .unwrap_or_else(|_| key.to_owned())
}

fn svg_open(id: &str, w: u32, h: u32, title: &str, desc: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gh-chart\" id=\"{id}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"Arial, sans-serif\" font-size=\"13\">\
<title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

fn legend(out: &mut String, series: &[Series], x0: f64, y: f64) {
    let mut x = x0;
    for s in series {
        let _ = write!(
            out,
            "<g class=\"gh-chart__legend\"><line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"3\"{}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            x + 24.0,
            s.kind.colour(),
            s.kind.dash(),
            x + 30.0,
            y + 4.0,
            esc(&s.label)
        );
        x += 40.0 + s.label.chars().count() as f64 * 6.6;
    }
}

const EMPTY: &str = "No appointments were due in this period.";

/// A line chart over ordered categories (weeks). A missing value breaks the
/// line rather than drawing it at zero.
pub fn line_svg(
    id: &str,
    title: &str,
    desc: &str,
    x_labels: &[String],
    series: &[Series],
    scale: Scale,
) -> String {
    let (w, h) = (760.0, 320.0);
    let (left, right, top, bottom) = (56.0, 16.0, 44.0, 40.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let mut out = svg_open(id, w as u32, h as u32, title, desc);
    legend(&mut out, series, left, 18.0);
    let max = match scale {
        Scale::Rate => 1.0,
        _ => nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().copied().filter_map(finite))
                .fold(0.0, f64::max),
        ),
    };
    // Grid and y axis: five ticks.
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let y = top + ph - ph * i as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#b1b4b6\" stroke-width=\"1\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#0b0c0c\">{}</text>",
            left + pw,
            left - 6.0,
            y + 4.0,
            esc(&scale.show(v))
        );
    }
    let n = x_labels.len();
    let x_at = |i: usize| {
        if n <= 1 {
            left + pw / 2.0
        } else {
            left + pw * i as f64 / (n - 1) as f64
        }
    };
    let y_at = |v: f64| top + ph - ph * (v / max).clamp(0.0, 1.0);
    // About eight x labels, whatever the number of weeks.
    let every = n.div_ceil(8).max(1);
    for (i, l) in x_labels.iter().enumerate() {
        // The last week is labelled too, unless it would crowd the one before.
        let last = i + 1 == n && i % every > every / 2;
        if i % every == 0 || last {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#0b0c0c\">{}</text>",
                x_at(i),
                top + ph + 20.0,
                esc(l)
            );
        }
    }
    let any = series
        .iter()
        .any(|s| s.values.iter().any(|v| finite(*v).is_some()));
    if !any {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#505a5f\">{EMPTY}</text>",
            left + pw / 2.0,
            top + ph / 2.0
        );
    }
    for s in series {
        let mut d = String::new();
        let mut pen_down = false;
        let mut points = String::new();
        for (i, v) in s.values.iter().enumerate().take(n) {
            match finite(*v) {
                Some(v) => {
                    let (x, y) = (x_at(i), y_at(v));
                    let _ = write!(d, "{}{x:.1} {y:.1} ", if pen_down { "L" } else { "M" });
                    pen_down = true;
                    let _ = write!(
                        points,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{}\"><title>{}: {} {}</title></circle>",
                        s.kind.colour(),
                        esc(&x_labels[i]),
                        esc(&s.label),
                        esc(&scale.show(v))
                    );
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            out,
            "<g class=\"gh-chart__series\" data-series=\"{}\"><path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" stroke-linejoin=\"round\"{}/>{points}</g>",
            s.kind.key(),
            d.trim_end(),
            s.kind.colour(),
            s.kind.dash()
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#0b0c0c\" stroke-width=\"1\"/></svg>",
        top + ph,
        left + pw,
        top + ph
    );
    out
}

/// Horizontal bars: one group per category, one bar per series in it, the
/// value written at the end of each bar.
pub fn bars_svg(
    id: &str,
    title: &str,
    desc: &str,
    categories: &[String],
    series: &[Series],
    scale: Scale,
) -> String {
    let w = 760.0;
    let (left, right, top) = (240.0, 80.0, if series.len() > 1 { 40.0 } else { 12.0 });
    let bar = 14.0;
    let group = bar * series.len().max(1) as f64 + 10.0;
    let pw = w - left - right;
    let h = top + group * categories.len().max(1) as f64 + 24.0;
    let mut out = svg_open(id, w as u32, h as u32, title, desc);
    if series.len() > 1 {
        legend(&mut out, series, left, 18.0);
    }
    let max = match scale {
        Scale::Rate => 1.0,
        _ => nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().copied().filter_map(finite))
                .fold(0.0, f64::max),
        ),
    };
    if categories.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#505a5f\">{EMPTY}</text>",
            w / 2.0,
            top + 20.0
        );
    }
    for (c, cat) in categories.iter().enumerate() {
        let gy = top + group * c as f64;
        // Long labels are shortened to fit the label column; the bar's own title has them whole.
        let label: String = if cat.chars().count() > 34 {
            cat.chars().take(33).chain(['…']).collect()
        } else {
            cat.clone()
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#0b0c0c\">{}</text>",
            left - 8.0,
            gy + group / 2.0,
            esc(&label)
        );
        for (k, s) in series.iter().enumerate() {
            let y = gy + bar * k as f64;
            let v = finite(s.values.get(c).copied().flatten());
            let len = v.map_or(0.0, |v| pw * (v / max).clamp(0.0, 1.0));
            let text = v.map_or_else(|| "–".to_owned(), |v| scale.show(v));
            let _ = write!(
                out,
                "<g class=\"gh-chart__series\" data-series=\"{}\"><rect x=\"{left}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"{}\"{}><title>{}: {} {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#0b0c0c\" font-size=\"12\">{}</text></g>",
                s.kind.key(),
                y,
                bar - 2.0,
                s.kind.colour(),
                // A WNB bar is outlined, one more cue than colour for print and colour-blind readers.
                if s.kind == Kind::WasNotBrought {
                    " stroke=\"#0b0c0c\" stroke-width=\"0.5\""
                } else {
                    ""
                },
                esc(cat),
                esc(&s.label),
                esc(&text),
                left + len + 6.0,
                y + bar - 4.0,
                esc(&text)
            );
        }
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{left}\" y2=\"{:.1}\" stroke=\"#0b0c0c\" stroke-width=\"1\"/></svg>",
        top - 4.0,
        top + group * categories.len().max(1) as f64
    );
    out
}

// ------------------------------------------------------------------ the dashboard's charts

/// The three rate series of a list of slices: attendance, DNA, WNB, apart.
fn rate_series(slices: &[Slice]) -> Vec<Series> {
    let pick = |kind: Kind, f: fn(&Measures) -> Option<f64>| Series {
        kind,
        label: match kind {
            Kind::Attended => "Attendance rate".to_owned(),
            Kind::DidNotAttend => "DNA rate".to_owned(),
            Kind::WasNotBrought => "WNB rate".to_owned(),
        },
        values: slices.iter().map(|s| finite(f(&s.measures))).collect(),
    };
    vec![
        pick(Kind::Attended, |m| m.attendance_rate),
        pick(Kind::DidNotAttend, |m| m.did_not_attend_rate),
        pick(Kind::WasNotBrought, |m| m.was_not_brought_rate),
    ]
}

fn due(m: &Measures) -> i64 {
    m.attended + m.did_not_attend + m.was_not_brought
}

/// The weekly trend of the three rates.
pub fn trend(figures: &Figures) -> Chart {
    let weeks = &figures.by_week;
    let labels: Vec<String> = weeks.iter().map(|s| week_label(&s.key)).collect();
    let series = rate_series(weeks);
    let desc = match (weeks.first(), weeks.last()) {
        (Some(a), Some(b)) => format!(
            "Weekly rates from the week of {} to the week of {}. Attendance {} overall, did not attend {}, was not brought {}. The data table below holds every week.",
            week_label(&a.key),
            week_label(&b.key),
            pct(figures.total.attendance_rate),
            pct(figures.total.did_not_attend_rate),
            pct(figures.total.was_not_brought_rate),
        ),
        _ => EMPTY.to_owned(),
    };
    let title = "Attendance, did not attend and was not brought, by week";
    Chart {
        id: "chart-trend".into(),
        heading: "Trend by week".into(),
        svg: line_svg("chart-trend", title, &desc, &labels, &series, Scale::Rate),
        table: Table {
            caption: title.into(),
            headers: [
                "Week beginning",
                "Due",
                "Attendance rate",
                "DNA rate",
                "WNB rate",
            ]
            .map(String::from)
            .to_vec(),
            rows: weeks
                .iter()
                .map(|s| {
                    let m = &s.measures;
                    vec![
                        NaiveDate::parse_from_str(&s.key, "%Y-%m-%d")
                            .map(fmt::date)
                            .unwrap_or_else(|_| s.key.clone()),
                        due(m).to_string(),
                        pct(m.attendance_rate),
                        pct(m.did_not_attend_rate),
                        pct(m.was_not_brought_rate),
                    ]
                })
                .collect(),
        },
    }
}

/// Counts by reason as one series of one kind, with each reason's rate of the due appointments.
fn reasons_chart(
    id: &str,
    heading: &str,
    kind: Kind,
    reasons: Vec<(String, i64)>,
    total: &Measures,
) -> Chart {
    let due = due(total);
    let labels: Vec<String> = reasons
        .iter()
        .map(|(r, _)| super::pages::label(r))
        .collect();
    let series = [Series {
        kind,
        label: "Appointments".into(),
        values: reasons.iter().map(|(_, n)| Some(*n as f64)).collect(),
    }];
    let sum: i64 = reasons.iter().map(|(_, n)| n).sum();
    let desc = if reasons.is_empty() {
        format!("None recorded in this period: {}", kind.name())
    } else {
        format!(
            "{sum} appointments, {} of those due, by reason. The data table below holds every reason.",
            pct((due > 0).then(|| sum as f64 / due as f64))
        )
    };
    Chart {
        id: id.into(),
        heading: heading.into(),
        svg: bars_svg(id, heading, &desc, &labels, &series, Scale::Count),
        table: Table {
            caption: heading.into(),
            headers: ["Reason", "Appointments", "Rate of those due"]
                .map(String::from)
                .to_vec(),
            rows: reasons
                .iter()
                .zip(&labels)
                .map(|((_, n), l)| {
                    vec![
                        l.clone(),
                        n.to_string(),
                        pct((due > 0).then(|| *n as f64 / due as f64)),
                    ]
                })
                .collect(),
        },
    }
}

/// Did not attend, by the patient's reason (most first).
pub fn dna_reasons(total: &Measures) -> Chart {
    let mut r: Vec<(String, i64)> = total
        .did_not_attend_by_reason
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), *n))
        .collect();
    r.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    reasons_chart(
        "chart-dna-reasons",
        "Did not attend, by reason (the patient's choice)",
        Kind::DidNotAttend,
        r,
        total,
    )
}

/// Was not brought, by the prison's reason (most first).
pub fn wnb_reasons(total: &Measures) -> Chart {
    let mut r: Vec<(String, i64)> = total
        .was_not_brought_by_reason
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), *n))
        .collect();
    r.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    reasons_chart(
        "chart-wnb-reasons",
        "Was not brought, by reason (the prison's reason)",
        Kind::WasNotBrought,
        r,
        total,
    )
}

/// The three rates for each slice (establishment, type or setting), as grouped bars.
pub fn rates_by(id: &str, heading: &str, slices: &[Slice], labels: &[String]) -> Chart {
    let series = rate_series(slices);
    let desc = format!(
        "Attendance, DNA and WNB rates for each of {} groups, as separate bars. The data table below holds the counts.",
        slices.len()
    );
    Chart {
        id: id.into(),
        heading: heading.into(),
        svg: bars_svg(id, heading, &desc, labels, &series, Scale::Rate),
        table: measures_table(heading, slices, labels),
    }
}

/// Clinician hours lost for each slice, DNA and WNB as separate bars.
pub fn hours_lost_by(id: &str, heading: &str, slices: &[Slice], labels: &[String]) -> Chart {
    let series = vec![
        Series {
            kind: Kind::DidNotAttend,
            label: "Hours lost: did not attend".into(),
            values: slices
                .iter()
                .map(|s| finite(Some(s.measures.clinician_hours_lost_did_not_attend)))
                .collect(),
        },
        Series {
            kind: Kind::WasNotBrought,
            label: "Hours lost: was not brought".into(),
            values: slices
                .iter()
                .map(|s| finite(Some(s.measures.clinician_hours_lost_was_not_brought)))
                .collect(),
        },
    ];
    let dna: f64 = slices
        .iter()
        .filter_map(|s| finite(Some(s.measures.clinician_hours_lost_did_not_attend)))
        .sum();
    let wnb: f64 = slices
        .iter()
        .filter_map(|s| finite(Some(s.measures.clinician_hours_lost_was_not_brought)))
        .sum();
    let desc = format!(
        "Booked clinician hours lost: {dna:.1} to patients who did not attend, {wnb:.1} to patients who were not brought, shown apart for each group."
    );
    Chart {
        id: id.into(),
        heading: heading.into(),
        svg: bars_svg(id, heading, &desc, labels, &series, Scale::Hours),
        table: Table {
            caption: heading.into(),
            headers: ["", "Hours lost: DNA", "Hours lost: WNB"]
                .map(String::from)
                .to_vec(),
            rows: slices
                .iter()
                .zip(labels)
                .map(|(s, l)| {
                    vec![
                        l.clone(),
                        format!("{:.1}", s.measures.clinician_hours_lost_did_not_attend),
                        format!("{:.1}", s.measures.clinician_hours_lost_was_not_brought),
                    ]
                })
                .collect(),
        },
    }
}

/// Every measure of each slice, as the CSV export has them.
pub fn measures_table(caption: &str, slices: &[Slice], labels: &[String]) -> Table {
    Table {
        caption: caption.into(),
        headers: [
            "",
            "Booked",
            "Attended",
            "DNA",
            "WNB",
            "Attendance rate",
            "DNA rate",
            "WNB rate",
            "Cancelled by healthcare",
            "Not recorded",
        ]
        .map(String::from)
        .to_vec(),
        rows: slices
            .iter()
            .zip(labels)
            .map(|(s, l)| {
                let m = &s.measures;
                vec![
                    l.clone(),
                    m.booked.to_string(),
                    m.attended.to_string(),
                    m.did_not_attend.to_string(),
                    m.was_not_brought.to_string(),
                    pct(m.attendance_rate),
                    pct(m.did_not_attend_rate),
                    pct(m.was_not_brought_rate),
                    m.cancelled_by_healthcare.to_string(),
                    m.not_recorded.to_string(),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::appointment::{AppointmentType, DnaReason, Outcome, Setting, WnbReason};
    use gatehouse_domain::attendance::{Bucket, Tally};

    fn tally(week: u32, bucket: Bucket, n: i64) -> Tally {
        Tally {
            establishment: "LEI".into(),
            week: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
                + chrono::Duration::weeks(week as i64),
            appointment_type: AppointmentType::HospitalOutpatient,
            setting: Setting::External,
            bucket,
            appointments: n,
            minutes: n * 60,
        }
    }

    fn figures() -> Figures {
        Figures::from_tallies(&[
            tally(0, Bucket::Outcome(Outcome::Attended), 6),
            tally(
                0,
                Bucket::Outcome(Outcome::DidNotAttend(DnaReason::Refused)),
                1,
            ),
            tally(
                0,
                Bucket::Outcome(Outcome::WasNotBrought(WnbReason::NoEscortStaff)),
                3,
            ),
            // Week 1: nothing due (only a cancellation): a gap in the lines.
            tally(1, Bucket::CancelledInAdvance, 2),
            tally(2, Bucket::Outcome(Outcome::Attended), 4),
            tally(
                2,
                Bucket::Outcome(Outcome::WasNotBrought(WnbReason::LockdownOrIncident)),
                4,
            ),
        ])
    }

    /// Well-formed enough for a browser's XML parser: tags balance, no NaN, no infinity.
    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        let words = svg.split(|c: char| !c.is_ascii_alphanumeric());
        assert!(
            !words.into_iter().any(|w| w == "NaN" || w == "inf"),
            "{svg}"
        );
        assert!(!svg.contains("style="), "no inline style (CSP)");
        assert!(svg.contains("<title id=") && svg.contains("<desc id="));
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let j = rest[i..].find('>').expect("tag closes") + i;
            let tag = &rest[i + 1..j];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "balanced at {tag}");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap().to_owned());
            }
            rest = &rest[j + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert!(!rest.contains('<') && !rest.contains('>'));
    }

    /// The `d` of the path of one series.
    fn path_of<'a>(svg: &'a str, key: &str) -> &'a str {
        let g = svg
            .split(&format!("data-series=\"{key}\"><path d=\""))
            .nth(1)
            .unwrap();
        g.split('"').next().unwrap()
    }

    #[test]
    fn the_trend_has_three_separate_lines_with_gaps_for_empty_weeks() {
        let f = figures();
        let c = trend(&f);
        well_formed(&c.svg);
        for key in ["attended", "did-not-attend", "was-not-brought"] {
            assert_eq!(c.svg.matches(&format!("data-series=\"{key}\"")).count(), 1);
            let d = path_of(&c.svg, key);
            // Week 0 and week 2 drawn, week 1 (nothing due) is a gap: two moves, no line between.
            assert_eq!(d.matches('M').count(), 2, "{key}: {d}");
            assert_eq!(d.matches('L').count(), 0, "{key}: {d}");
        }
        // DNA 10%, WNB 30% in week 0; never their 40% sum.
        assert_eq!(c.table.rows[0][3], "10.0%");
        assert_eq!(c.table.rows[0][4], "30.0%");
        assert!(!c.table.rows.iter().flatten().any(|v| v == "40.0%"));
        assert_eq!(
            c.table.rows[1][2], "–",
            "a week with nothing due has no rate"
        );
    }

    #[test]
    fn dna_and_wnb_reasons_are_separate_charts() {
        let f = figures();
        let dna = dna_reasons(&f.total);
        let wnb = wnb_reasons(&f.total);
        well_formed(&dna.svg);
        well_formed(&wnb.svg);
        assert!(dna.svg.contains("Refused"));
        assert!(!dna.svg.contains("No escort staff") && !dna.svg.contains("was-not-brought"));
        assert!(wnb.svg.contains("No escort staff") && wnb.svg.contains("Lockdown or incident"));
        assert!(!wnb.svg.contains("Refused") && !wnb.svg.contains("did-not-attend"));
        // Most first; each reason's rate is of the due appointments (6 + 1 + 3 + 4 + 4 = 18).
        assert_eq!(wnb.table.rows[0][0], "Lockdown or incident");
        assert_eq!(wnb.table.rows[0][2], "22.2%");
        assert_eq!(dna.table.rows.len(), 1);
    }

    #[test]
    fn bars_and_hours_keep_dna_and_wnb_apart() {
        let f = figures();
        let labels = vec!["HMP Leeds".to_owned()];
        let rates = rates_by("r", "By establishment", &f.by_establishment, &labels);
        well_formed(&rates.svg);
        assert_eq!(
            rates.svg.matches("data-series=\"did-not-attend\"").count(),
            1
        );
        assert_eq!(
            rates.svg.matches("data-series=\"was-not-brought\"").count(),
            1
        );
        let hours = hours_lost_by("h", "Hours lost", &f.by_establishment, &labels);
        well_formed(&hours.svg);
        assert_eq!(hours.table.rows[0][1], "1.0");
        assert_eq!(hours.table.rows[0][2], "7.0");
        assert!(hours.svg.contains("7.0 h") && hours.svg.contains("1.0 h"));
        assert!(!hours.svg.contains("8.0 h"), "never the sum");
    }

    #[test]
    fn empty_figures_draw_a_message_not_a_broken_chart() {
        let f = Figures::from_tallies(&[]);
        for c in [
            trend(&f),
            dna_reasons(&f.total),
            wnb_reasons(&f.total),
            rates_by("r", "R", &f.by_type, &[]),
            hours_lost_by("h", "H", &f.by_setting, &[]),
        ] {
            well_formed(&c.svg);
            assert!(c.table.rows.is_empty());
        }
        assert!(trend(&f).svg.contains(EMPTY));
    }

    #[test]
    fn non_finite_values_and_markup_never_reach_the_svg() {
        let s = [Series {
            kind: Kind::Attended,
            label: "<script>&\"".into(),
            values: vec![
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(0.5),
                None,
                Some(-1.0),
            ],
        }];
        let labels: Vec<String> = (0..5).map(|i| format!("w{i}<")).collect();
        let line = line_svg("x", "t<", "d&", &labels, &s, Scale::Rate);
        well_formed(&line);
        assert!(!line.contains("<script>"));
        let bars = bars_svg("y", "t", "d", &labels, &s, Scale::Count);
        well_formed(&bars);
        assert!(bars_svg("z", "t", "d", &labels, &[], Scale::Hours).ends_with("</svg>"));
        assert_eq!(nice_max(f64::NAN), 1.0);
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(37.0), 50.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(pct(Some(f64::NAN)), "–");
    }
}
