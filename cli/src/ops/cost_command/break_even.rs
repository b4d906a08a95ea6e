//! The break-even between running the jobs on Lambda and on always-on workers (the same binaries
//! in worker mode), as a pure model of what each costs per hour at a steady upload rate.
//!
//! Lambda's cost is proportional to the rate: `N × 3600 × lambda_usd_per_upload` per hour. A
//! worker fleet is paid per instance whether busy or not, so its cost is a step function:
//! `max(1, ceil(N × cpu_seconds_per_upload / (vcpus × utilization))) × instance_price_hour`.
//! Because of the steps, the first rate at which workers are cheaper is not always the rate above
//! which they stay cheaper: just past a full instance, Lambda can win again for a while. Both are
//! reported.

use serde::Serialize;

/// What the workers would run on, how busy the fleet is kept, and the rates to tabulate.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct BreakEvenInputs {
    /// USD per hour of one worker instance (the default is a c7g.large on demand in us-east-1).
    #[arg(long = "instance-price-hour", default_value_t = 0.0725, value_parser = non_negative)]
    pub instance_price_hour: f64,
    /// vCPUs of one worker instance.
    #[arg(long = "instance-vcpus", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub instance_vcpus: u32,
    /// The fraction of the fleet's CPU kept busy (0 to 1): the headroom for bursts.
    #[arg(long, default_value_t = 0.7, value_parser = fraction)]
    pub utilization: f64,
    /// Upload rates (uploads per second, comma-separated) to tabulate.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,1,10,100", value_parser = non_negative)]
    pub rates: Vec<f64>,
}

impl Default for BreakEvenInputs {
    fn default() -> BreakEvenInputs {
        BreakEvenInputs {
            instance_price_hour: 0.0725,
            instance_vcpus: 2,
            utilization: 0.7,
            rates: vec![0.01, 0.1, 1.0, 10.0, 100.0],
        }
    }
}

fn non_negative(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err(format!("expected a number of 0 or more, such as 0.0725, not {text:?}")),
    }
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value > 0.0 && value <= 1.0 => Ok(value),
        _ => Err(format!("expected a fraction above 0 and at most 1, such as 0.7, not {text:?}")),
    }
}

/// What one upload takes, on average, as measured from the records.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerUpload {
    /// The sum of its attempts' durations, in seconds. Conservative: a function of 1769 MB or
    /// more has a full vCPU, and the time spent waiting on S3 or DynamoDB is counted as busy.
    pub cpu_seconds: f64,
    /// What Lambda billed for its attempts (compute and invocations).
    pub lambda_usd: f64,
}

/// Which way of running the jobs costs less at a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cheaper {
    /// Lambda costs less.
    Lambda,
    /// The worker fleet costs less.
    Workers,
    /// They cost the same.
    Same,
}

/// The costs of both ways at one rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateCosts {
    /// Uploads per second.
    pub uploads_per_second: f64,
    /// Lambda's cost per hour at that rate.
    pub lambda_usd_per_hour: f64,
    /// Instances the fleet needs at that rate (at least one: it is always on).
    pub instances: u64,
    /// The fleet's cost per hour.
    pub workers_usd_per_hour: f64,
    /// Which costs less.
    pub cheaper: Cheaper,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakEven {
    /// Uploads per second one instance takes at the target utilization; `None` when uploads take
    /// no measurable time (one instance takes any rate).
    pub instance_uploads_per_second: Option<f64>,
    /// What an upload costs on a fully used fleet: the fleet's marginal cost per upload. When it
    /// is not below Lambda's, workers never become cheaper at scale.
    pub workers_usd_per_upload_at_scale: f64,
    /// The rate above which one instance costs less than Lambda; `None` when workers are never
    /// cheaper.
    pub workers_first_cheaper_above: Option<f64>,
    /// The lowest rate above which workers are cheaper at every rate; `None` when they never are.
    pub break_even_uploads_per_second: Option<f64>,
    /// Both costs at each of the inputs' rates.
    pub rates: Vec<RateCosts>,
}

/// Lambda's cost per hour at `rate` uploads per second.
pub fn lambda_usd_per_hour(rate: f64, per_upload: PerUpload) -> f64 {
    rate * 3600.0 * per_upload.lambda_usd
}

/// Ceiling of a fleet size computed in floating point. A rate that fills its instances exactly
/// (20 × 0.07 / 1.4) comes out a hair above the whole number; the tolerance keeps it whole.
fn ceil_instances(exact: f64) -> u64 {
    // `as` saturates (and maps NaN to 0), which `max(1, ...)` then lifts to one instance.
    (exact * (1.0 - 1e-12)).ceil() as u64
}

/// Instances the fleet needs at `rate` uploads per second: at least one, always on.
pub fn instances(rate: f64, per_upload: PerUpload, inputs: &BreakEvenInputs) -> u64 {
    let busy_vcpus = f64::from(inputs.instance_vcpus) * inputs.utilization;
    ceil_instances(rate * per_upload.cpu_seconds / busy_vcpus).max(1)
}

/// The fleet's cost per hour at `rate` uploads per second.
pub fn workers_usd_per_hour(rate: f64, per_upload: PerUpload, inputs: &BreakEvenInputs) -> f64 {
    instances(rate, per_upload, inputs) as f64 * inputs.instance_price_hour
}

/// Lambda against workers for `per_upload` under `inputs`.
pub fn break_even(per_upload: PerUpload, inputs: &BreakEvenInputs) -> BreakEven {
    let busy_vcpus = f64::from(inputs.instance_vcpus) * inputs.utilization;
    let price = inputs.instance_price_hour;
    // K: uploads per second one instance takes; unbounded when uploads take no time.
    let capacity = (per_upload.cpu_seconds > 0.0).then(|| busy_vcpus / per_upload.cpu_seconds);
    let workers_usd_per_upload_at_scale = price * per_upload.cpu_seconds / (3600.0 * busy_vcpus);
    let lambda_per_rate = 3600.0 * per_upload.lambda_usd;
    // N1: the rate at which Lambda costs one instance. Workers are cheaper somewhere only if N1
    // fits in one instance, which is the same as their marginal cost being below Lambda's.
    let first = (lambda_per_rate > 0.0).then(|| price / lambda_per_rate);
    let (first, always) = match (first, capacity) {
        (None, _) => (None, None),
        (Some(first), None) => (Some(first), Some(first)),
        (Some(first), Some(capacity)) if first >= capacity => (None, None),
        (Some(first), Some(capacity)) => {
            // With m instances (rates in ((m-1)K, mK]) workers are cheaper above m × N1. Lambda
            // is still cheaper somewhere in that band while m × N1 > (m-1)K, that is while
            // m < K / (K - N1): the last such m sets the break-even, m × N1.
            let last_band = ceil_instances(capacity / (capacity - first)).saturating_sub(1);
            (Some(first), Some(last_band as f64 * first))
        }
    };
    let rates = inputs
        .rates
        .iter()
        .map(|&rate| {
            let lambda = lambda_usd_per_hour(rate, per_upload);
            let workers = workers_usd_per_hour(rate, per_upload, inputs);
            RateCosts {
                uploads_per_second: rate,
                lambda_usd_per_hour: lambda,
                instances: instances(rate, per_upload, inputs),
                workers_usd_per_hour: workers,
                cheaper: match lambda.partial_cmp(&workers) {
                    Some(std::cmp::Ordering::Less) => Cheaper::Lambda,
                    Some(std::cmp::Ordering::Greater) => Cheaper::Workers,
                    _ => Cheaper::Same,
                },
            }
        })
        .collect();
    BreakEven {
        instance_uploads_per_second: capacity,
        workers_usd_per_upload_at_scale,
        workers_first_cheaper_above: first,
        break_even_uploads_per_second: always,
        rates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-12)
    }

    #[track_caller]
    fn assert_close(actual: Option<f64>, expected: f64) {
        match actual {
            Some(actual) => assert!(close(actual, expected), "{actual} vs {expected}"),
            None => panic!("None vs {expected}"),
        }
    }

    #[test]
    fn one_instance_against_lambda_by_hand() {
        // 0.5 CPU-s and $0.00002 of Lambda per upload; c7g.large at $0.0725/h, 2 vCPU at 70 %.
        let per_upload = PerUpload { cpu_seconds: 0.5, lambda_usd: 0.00002 };
        let model = break_even(per_upload, &BreakEvenInputs::default());
        // One instance takes 1.4 / 0.5 = 2.8 uploads/s. Lambda costs 3600 × 0.00002 = $0.072/h per
        // upload/s, so it costs one instance at 0.0725 / 0.072 = 1.00694 uploads/s. Two instances
        // (from 2.8/s) cost $0.145/h, which Lambda passes at 2.0139/s: below 2.8, so above 1.00694
        // workers stay cheaper.
        assert_close(model.instance_uploads_per_second, 2.8);
        assert_close(model.workers_first_cheaper_above, 0.0725 / 0.072);
        assert_close(model.break_even_uploads_per_second, 0.0725 / 0.072);
        // At scale: 0.0725 × 0.5 / (3600 × 1.4) = 0.03625 / 5040 = $0.00000719246 per upload.
        assert!(close(model.workers_usd_per_upload_at_scale, 7.192_460_317_46e-6));
        let rows: Vec<(u64, Cheaper)> = model.rates.iter().map(|row| (row.instances, row.cheaper)).collect();
        // 0.01/s: $0.00072 against $0.0725; 1/s: $0.072 against $0.0725 (Lambda, just);
        // 10/s: $0.72 against ceil(5/1.4) = 4 × $0.0725; 100/s: $7.2 against 36 instances, $2.61.
        assert_eq!(
            rows,
            [
                (1, Cheaper::Lambda),
                (1, Cheaper::Lambda),
                (1, Cheaper::Lambda),
                (4, Cheaper::Workers),
                (36, Cheaper::Workers)
            ]
        );
        assert!(close(model.rates[2].lambda_usd_per_hour, 0.072));
        assert!(close(model.rates[4].workers_usd_per_hour, 36.0 * 0.0725));
    }

    #[test]
    fn past_a_full_instance_lambda_can_win_again_so_the_break_even_moves_up() {
        // 1 CPU-s per upload: one instance takes 1.4 uploads/s, and Lambda reaches its price at
        // 1.00694/s. Between 1.4 and 2.0139/s (two instances' price), Lambda is cheaper again;
        // likewise between 2.8 and 3 × 1.00694 = 3.0208/s. Band 4 starts at 4.2 > 4 × 1.00694, so
        // from 3.0208/s on workers stay cheaper. By the formula: K / (K - N1) = 1.4 / 0.39306 =
        // 3.56, so the last band where Lambda wins is the third.
        let per_upload = PerUpload { cpu_seconds: 1.0, lambda_usd: 0.00002 };
        let inputs = BreakEvenInputs { rates: vec![1.2, 1.5, 2.9, 3.1], ..BreakEvenInputs::default() };
        let model = break_even(per_upload, &inputs);
        let first = 0.0725 / 0.072;
        assert_close(model.workers_first_cheaper_above, first);
        assert_close(model.break_even_uploads_per_second, 3.0 * first);
        let cheaper: Vec<Cheaper> = model.rates.iter().map(|row| row.cheaper).collect();
        assert_eq!(cheaper, [Cheaper::Workers, Cheaper::Lambda, Cheaper::Lambda, Cheaper::Workers]);
    }

    #[test]
    fn the_break_even_is_where_the_step_functions_last_cross() {
        // Against the two cost functions themselves, on a fine grid: at and below the break-even
        // Lambda is somewhere no dearer; above it workers are always cheaper.
        for (cpu_seconds, lambda_usd) in [(0.5, 0.00002), (1.0, 0.00002), (4.72, 0.000072), (0.05, 3e-6)] {
            let per_upload = PerUpload { cpu_seconds, lambda_usd };
            let inputs = BreakEvenInputs::default();
            let model = break_even(per_upload, &inputs);
            let Some(rate) = model.break_even_uploads_per_second else { panic!("{per_upload:?}") };
            let cheaper =
                |n: f64| lambda_usd_per_hour(n, per_upload) > workers_usd_per_hour(n, per_upload, &inputs);
            assert!(!cheaper(rate * (1.0 - 1e-9)), "{per_upload:?}: workers cheaper just below {rate}");
            for step in 1..20_000 {
                let n = rate * (1.0 + f64::from(step) * 1e-4);
                assert!(cheaper(n), "{per_upload:?}: Lambda cheaper at {n} above {rate}");
            }
        }
    }

    #[test]
    fn workers_never_win_when_their_marginal_cost_is_not_below_lambdas() {
        // 2 CPU-s per upload: one instance takes 0.7/s, where Lambda costs only 0.7 × 0.072 =
        // $0.0504/h; at scale an upload costs 0.0725 × 2 / 5040 = $0.0000288 on workers, more
        // than $0.00002 on Lambda.
        let per_upload = PerUpload { cpu_seconds: 2.0, lambda_usd: 0.00002 };
        let model = break_even(per_upload, &BreakEvenInputs::default());
        assert_eq!(model.workers_first_cheaper_above, None);
        assert_eq!(model.break_even_uploads_per_second, None);
        assert!(model.workers_usd_per_upload_at_scale > per_upload.lambda_usd);
        assert!(model.rates.iter().all(|row| row.cheaper == Cheaper::Lambda));
        // No Lambda cost at all (every attempt ran on workers): nothing to win.
        let free = break_even(PerUpload { cpu_seconds: 1.0, lambda_usd: 0.0 }, &BreakEvenInputs::default());
        assert_eq!(free.break_even_uploads_per_second, None);
    }

    #[test]
    fn a_full_fleet_is_not_rounded_up_to_one_more_instance() {
        // 20 uploads/s × 0.07 CPU-s = 1.4 vCPU busy: exactly one instance at 70 % of 2 vCPU.
        let per_upload = PerUpload { cpu_seconds: 0.07, lambda_usd: 0.0 };
        assert_eq!(instances(20.0, per_upload, &BreakEvenInputs::default()), 1);
        assert_eq!(instances(20.1, per_upload, &BreakEvenInputs::default()), 2);
        assert_eq!(instances(0.0, per_upload, &BreakEvenInputs::default()), 1);
    }

    #[test]
    fn inputs_are_refused_outside_their_range() {
        assert_eq!(non_negative(" 0.0725"), Ok(0.0725));
        assert!(non_negative("-1").is_err());
        assert!(non_negative("inf").is_err());
        assert!(non_negative("cheap").is_err());
        assert_eq!(fraction("1"), Ok(1.0));
        assert!(fraction("0").is_err());
        assert!(fraction("1.5").is_err());
        assert!(fraction("NaN").is_err());
    }
}
