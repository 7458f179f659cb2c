//! "Who saw my record": the disclosure report in words a patient could read.

use crate::audit::Format;
use gatehouse_domain::PrisonNumber;
use gatehouse_server::audit::Disclosure;

fn who(d: &Disclosure) -> String {
    let org = match d.org_type.as_str() {
        "health" => "the healthcare team",
        "prison" => "prison staff",
        "escort" => "the escort service",
        "governance" => "the information-governance team",
        _ => "a connected system",
    };
    match &d.staff_user {
        Some(s) => format!("{s}, using {} ({org})", d.consumer),
        None => format!("{} ({org})", d.consumer),
    }
}

fn what(d: &Disclosure) -> String {
    let thing = match d.resource.as_str() {
        "person" => "your identity and where you are held",
        "movements" => "your movements between prisons, courts and hospital",
        "alerts" => "your prison safety alerts",
        "planned-movements" => "your planned court dates and transfers",
        "search-result" => "your identity, found in a search",
        "establishment-roll" => "your name on the prison's roll",
        "disclosures" => "this list of who saw your record",
        "prison-event" => "an update to your record from the prison system",
        other => other,
    };
    thing.to_owned()
}

fn why(d: &Disclosure) -> &'static str {
    match d.purpose.as_str() {
        "direct-care" => "to care for you",
        "safety" => "for your safety and the safety of others",
        "emergency" => "in an emergency (break-glass, reviewed afterwards)",
        "governance" => "to check that your record is used properly",
        "operations" => "to run the prison",
        _ => "for a purpose not recorded",
    }
}

fn outcome(d: &Disclosure) -> &'static str {
    match d.decision.as_str() {
        "permit" => "shown",
        "deny" => "refused: not allowed by the sharing agreement",
        _ => "refused: your record is outside what they may see",
    }
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(pn: &PrisonNumber, rows: &[Disclosure], format: Format) -> String {
    match format {
        Format::Csv => {
            let mut out = String::from("when,who,what,why,lawful basis,outcome,request id\n");
            for d in rows {
                let cols = [
                    d.at.to_rfc3339(),
                    who(d),
                    what(d),
                    why(d).to_owned(),
                    d.lawful_basis.clone(),
                    outcome(d).to_owned(),
                    d.request_id.clone(),
                ];
                out.push_str(
                    &cols
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Format::Html => {
            let mut out = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Who saw the record of {pn}</title>\
                 <style>body{{font-family:Arial,sans-serif;margin:2em;color:#0b0c0c}}table{{border-collapse:collapse}}\
                 td,th{{border-bottom:1px solid #b1b4b6;padding:6px;text-align:left;vertical-align:top}}</style></head><body>\
                 <h1>Who saw the record of {pn}</h1><p>Every time someone looked at or changed this record through Gatehouse, it is listed here, newest first. \
                 {n} entries.</p><table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Why</th><th>On what basis</th><th>Outcome</th></tr></thead><tbody>",
                n = rows.len()
            );
            for d in rows {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    html_escape(&d.at.format("%-d %B %Y, %H:%M UTC").to_string()),
                    html_escape(&who(d)),
                    html_escape(&what(d)),
                    html_escape(why(d)),
                    html_escape(&d.lawful_basis),
                    html_escape(outcome(d))
                ));
            }
            out.push_str("</tbody></table></body></html>\n");
            out
        }
    }
}
