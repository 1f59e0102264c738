//! Reports: per inbox and overall, for a chosen period, with a CSV export.

use std::path::PathBuf;

use crate::caixa::Caixa;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{inboxes, reports};

/// Longest period one report covers (two years of days).
const MAX_DAYS: i64 = 731;
const MS_PER_DAY: i64 = 86_400_000;

impl Caixa {
    pub async fn report(&self, query: ReportQuery) -> Result<Report> {
        check(&query)?;
        self.store()
            .read(move |c| {
                let range = |inbox| reports::Range {
                    since: query.since,
                    until: query.until,
                    inbox,
                    offset_ms: i64::from(query.utc_offset_minutes) * 60_000,
                };
                let all = range(query.inbox_id);
                let totals = reports::totals(c, &all)?;
                let mut inboxes_out = Vec::new();
                for inbox in inboxes::list(c)? {
                    if query.inbox_id.is_some_and(|id| id != inbox.id) {
                        continue;
                    }
                    inboxes_out.push(InboxReport {
                        totals: reports::totals(c, &range(Some(inbox.id)))?,
                        inbox_id: inbox.id,
                        inbox_name: inbox.name,
                        channel: inbox.kind,
                    });
                }
                let counted = reports::days(c, &all)?;
                let first = (query.since + all.offset_ms).div_euclid(MS_PER_DAY);
                let last = (query.until - 1 + all.offset_ms).div_euclid(MS_PER_DAY);
                let days = (first..=last)
                    .map(|d| {
                        let (_, opened, resolved, messages_in) = counted
                            .iter()
                            .find(|(day, ..)| *day == d)
                            .copied()
                            .unwrap_or((d, 0, 0, 0));
                        DayReport {
                            day: day_text(d),
                            opened,
                            resolved,
                            messages_in,
                        }
                    })
                    .collect();
                Ok(Report {
                    totals,
                    inboxes: inboxes_out,
                    days,
                    busiest_hours: reports::hours(c, &all)?.to_vec(),
                    query,
                })
            })
            .await
    }

    /// Writes the report as CSV (summary, per inbox, per day, per hour) to `path`.
    pub async fn export_report(&self, query: ReportQuery, path: PathBuf) -> Result<()> {
        let report = self.report(query).await?;
        let text = csv_text(&report)?;
        tokio::fs::write(&path, text)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", path.display())))
    }
}

fn check(q: &ReportQuery) -> Result<()> {
    if q.until <= q.since {
        return Err(Error::field(
            "until",
            "The period must end after it starts.",
        ));
    }
    if (q.until - q.since) / MS_PER_DAY > MAX_DAYS {
        return Err(Error::field(
            "until",
            "Choose a period of at most two years.",
        ));
    }
    if !(-14 * 60..=14 * 60).contains(&q.utc_offset_minutes) {
        return Err(Error::field("utc_offset_minutes", "Not a UTC offset."));
    }
    Ok(())
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn day_text(days: i64) -> String {
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(days))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn minutes(ms: Option<i64>) -> String {
    ms.map(|m| format!("{:.1}", m as f64 / 60_000.0))
        .unwrap_or_default()
}

/// The report as CSV: one table after another, each with its header row.
pub fn csv_text(r: &Report) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let io = |e: csv::Error| Error::Internal(format!("CSV: {e}"));
    let totals_row = |scope: &str, t: &ReportTotals| {
        vec![
            scope.to_string(),
            t.opened.to_string(),
            t.resolved.to_string(),
            t.messages_in.to_string(),
            t.messages_out.to_string(),
            t.bot_messages.to_string(),
            minutes(t.median_first_response_ms),
            minutes(t.median_resolution_ms),
        ]
    };
    w.write_record([
        "inbox",
        "conversations opened",
        "conversations resolved",
        "messages in",
        "messages out",
        "bot messages",
        "median first response (min)",
        "median resolution (min)",
    ])
    .map_err(io)?;
    w.write_record(totals_row("all", &r.totals)).map_err(io)?;
    for i in &r.inboxes {
        w.write_record(totals_row(&i.inbox_name, &i.totals))
            .map_err(io)?;
    }
    w.write_record([""]).map_err(io)?;
    w.write_record(["day", "opened", "resolved", "messages in"])
        .map_err(io)?;
    for d in &r.days {
        w.write_record([
            d.day.clone(),
            d.opened.to_string(),
            d.resolved.to_string(),
            d.messages_in.to_string(),
        ])
        .map_err(io)?;
    }
    w.write_record([""]).map_err(io)?;
    w.write_record(["hour", "messages in"]).map_err(io)?;
    for (h, n) in r.busiest_hours.iter().enumerate() {
        w.write_record([format!("{h:02}:00"), n.to_string()])
            .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}
