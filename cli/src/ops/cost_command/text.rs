//! The cost report as aligned text tables, for people (`--json` prints the report itself).

use std::fmt::Write as _;

use pipeline::cost::Cost;

use super::break_even::{BreakEven, Cheaper};
use super::report::{BreakEvenReport, CostReport};

/// A number with four significant digits (costs per upload are millionths of a dollar, costs per
/// hour dollars: a fixed number of decimals would hide one or the other).
fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    format!("{value:.decimals$}")
}

/// Rows under a header, columns two spaces apart: the first `text_columns` left-aligned, the
/// others (numbers) right-aligned. Indented by two spaces.
fn table(header: &[&str], text_columns: usize, rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|title| title.to_string()).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (column, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if column < text_columns {
                let _ = write!(line, " {cell:<width$}");
            } else {
                let _ = write!(line, " {cell:>width$}");
            }
            line.push(' ');
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn cost_line(cost: &Cost) -> String {
    format!(
        "${} (Lambda ${}, S3 ${}, DynamoDB ${})",
        number(cost.total_usd),
        number(cost.lambda_usd),
        number(cost.s3_usd),
        number(cost.dynamodb_usd)
    )
}

fn verdict(model: &BreakEven, per_upload_lambda: f64) -> String {
    match (model.workers_first_cheaper_above, model.break_even_uploads_per_second) {
        (Some(first), Some(always)) if always > first => format!(
            "Workers first cost less above {} uploads/s, but just past each full instance Lambda is cheaper \
             again, up to {} uploads/s: above that, workers always cost less.",
            number(first),
            number(always)
        ),
        (_, Some(always)) => format!(
            "Break-even: above {} uploads/s ({} an hour) workers cost less.",
            number(always),
            number(always * 3600.0)
        ),
        _ => format!(
            "Workers never cost less: an upload costs ${} on a fully used fleet, ${} on Lambda.",
            number(model.workers_usd_per_upload_at_scale),
            number(per_upload_lambda)
        ),
    }
}

fn break_even_section(out: &mut String, section: &BreakEvenReport) {
    let inputs = &section.inputs;
    let model = &section.model;
    out.push_str("\nLambda or always-on workers running the same binaries\n");
    out.push_str("  Mean time per attempt, all outcomes (the CPU-seconds a worker would spend):\n");
    let rows: Vec<Vec<String>> = section
        .stages
        .iter()
        .map(|stage| vec![stage.stage.to_owned(), stage.attempts.to_string(), number(stage.cpu_seconds)])
        .collect();
    out.push_str(&table(&["stage", "attempts", "cpu-s"], 1, &rows));
    let _ = writeln!(
        out,
        "  Per upload: {} CPU-s, Lambda ${}; S3 and DynamoDB ${} (the same either way, left out).",
        number(section.per_upload.cpu_seconds),
        number(section.per_upload.lambda_usd),
        number(section.s3_dynamodb_usd_per_upload)
    );
    let capacity = model
        .instance_uploads_per_second
        .map_or_else(|| "any rate".to_owned(), |rate| format!("{} uploads/s", number(rate)));
    let _ = writeln!(
        out,
        "  Workers: ${}/h instances of {} vCPU kept {}% busy take {capacity} each; ${} an upload at scale.",
        inputs.instance_price_hour,
        inputs.instance_vcpus,
        (inputs.utilization * 1000.0).round() / 10.0,
        number(model.workers_usd_per_upload_at_scale)
    );
    let rows: Vec<Vec<String>> = model
        .rates
        .iter()
        .map(|row| {
            vec![
                // As given on the command line.
                row.uploads_per_second.to_string(),
                number(row.lambda_usd_per_hour),
                row.instances.to_string(),
                number(row.workers_usd_per_hour),
                match row.cheaper {
                    Cheaper::Lambda => "Lambda",
                    Cheaper::Workers => "workers",
                    Cheaper::Same => "same",
                }
                .to_owned(),
            ]
        })
        .collect();
    out.push_str(&table(&["uploads/s", "Lambda $/h", "instances", "workers $/h", "cheaper"], 0, &rows));
    let _ = writeln!(out, "  {}", verdict(model, section.per_upload.lambda_usd));
}

/// The report as text.
pub fn render(report: &CostReport) -> String {
    let mut out = String::new();
    let period = &report.period;
    if report.uploads == 0 {
        let _ = writeln!(
            out,
            "No completed uploads (ready, partial or failed) changed between {} and {}.",
            period.since, period.until
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} completed uploads (ready, partial or failed) changed between {} and {}.",
        report.uploads, period.since, period.until
    );

    out.push_str("\nUploads by kind and outcome\n");
    let rows: Vec<Vec<String>> = report
        .outcomes
        .iter()
        .map(|row| {
            let total = row.ready + row.partial + row.failed;
            [row.kind.to_owned()]
                .into_iter()
                .chain([row.ready, row.partial, row.failed, total].map(|n| n.to_string()))
                .collect()
        })
        .collect();
    out.push_str(&table(&["kind", "ready", "partial", "failed", "total"], 1, &rows));

    out.push_str("\nCost per 1,000 uploads (USD)\n");
    let rows: Vec<Vec<String>> = report
        .cost_per_1000
        .iter()
        .map(|row| {
            let cost = &row.per_1000;
            vec![
                row.kind.to_owned(),
                row.uploads.to_string(),
                number(cost.lambda_usd),
                number(cost.s3_usd),
                number(cost.dynamodb_usd),
                number(cost.total_usd),
            ]
        })
        .collect();
    out.push_str(&table(&["kind", "uploads", "Lambda", "S3", "DynamoDB", "total"], 1, &rows));
    let _ = writeln!(out, "  The period's uploads cost {}.", cost_line(&report.total));

    out.push_str("\nLatency from the S3 notification reaching the ingest queue to completion\n");
    let rows: Vec<Vec<String>> = report
        .latency
        .iter()
        .map(|row| {
            vec![row.kind.to_owned(), row.uploads.to_string(), row.p50_ms.to_string(), row.p95_ms.to_string()]
        })
        .collect();
    out.push_str(&table(&["kind", "uploads", "p50 ms", "p95 ms"], 1, &rows));

    let _ = writeln!(
        out,
        "\nRetries: {} attempts were followed by another at the same job; they cost {}.",
        report.retries.attempts,
        cost_line(&report.retries.cost)
    );
    if !report.errors.is_empty() {
        out.push_str("  Attempts that ended with an error, by code:\n");
        let rows: Vec<Vec<String>> = report
            .errors
            .iter()
            .map(|row| {
                let class = if row.retryable { "retried" } else { "permanent" };
                vec![row.code.to_string(), class.to_owned(), row.attempts.to_string(), number(row.cost_usd)]
            })
            .collect();
        out.push_str(&table(&["code", "class", "attempts", "cost USD"], 2, &rows));
    }

    if let Some(section) = &report.break_even {
        break_even_section(&mut out, section);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(0.000_072), "0.00007200");
        assert_eq!(number(0.0725), "0.07250");
        assert_eq!(number(2.6), "2.600");
        assert_eq!(number(4720.4), "4720");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn tables_align_their_columns() {
        let rows = [vec!["image".into(), "12".into()], vec!["all".into(), "3".into()]];
        assert_eq!(table(&["kind", "n"], 1, &rows), "  kind    n\n  image  12\n  all     3\n");
        assert_eq!(table(&["kind", "n"], 0, &rows), "   kind   n\n  image  12\n    all   3\n");
    }
}
