//! What an attempt, and so an upload, cost: Lambda compute and requests, S3 requests and
//! DynamoDB request units, at the prices of one table (us-east-1's by default, each overridable by
//! a template parameter). SQS requests, storage and data transfer are not counted: they do not
//! depend on how the work was done.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
pub use crate::usage::Cost;
use crate::usage::{LambdaBilling, Requests};

/// Prices in USD. The defaults are us-east-1's on-demand prices (Lambda and DynamoDB on-demand
/// as of 2025, S3 Standard); [`Prices::from_lookup`] takes overrides from the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per GB-second of an x86_64 function.
    pub lambda_gb_second_x86_64: f64,
    /// Per GB-second of an arm64 function.
    pub lambda_gb_second_arm64: f64,
    /// Per invocation.
    pub lambda_request: f64,
    /// Per S3 PUT, COPY, POST or LIST request.
    pub s3_write_request: f64,
    /// Per S3 GET, HEAD or other request (DELETE is free).
    pub s3_read_request: f64,
    /// Per DynamoDB on-demand write request unit.
    pub dynamodb_write_unit: f64,
    /// Per DynamoDB on-demand read request unit.
    pub dynamodb_read_unit: f64,
}

impl Default for Prices {
    fn default() -> Prices {
        Prices {
            lambda_gb_second_x86_64: 0.000_016_666_7,
            lambda_gb_second_arm64: 0.000_013_333_4,
            lambda_request: 0.20 / 1e6,
            s3_write_request: 0.005 / 1e3,
            s3_read_request: 0.0004 / 1e3,
            dynamodb_write_unit: 0.625 / 1e6,
            dynamodb_read_unit: 0.125 / 1e6,
        }
    }
}

/// The variables that override [`Prices`] (the template's `Price*` parameters); empty or unset
/// keeps the default. `MEDIAFLOW_PRICE_LAMBDA_GB_SECOND` is the price of the architecture the
/// function runs on.
pub const PRICE_VARIABLES: [&str; 6] = [
    "MEDIAFLOW_PRICE_LAMBDA_GB_SECOND",
    "MEDIAFLOW_PRICE_LAMBDA_REQUEST",
    "MEDIAFLOW_PRICE_S3_WRITE_REQUEST",
    "MEDIAFLOW_PRICE_S3_READ_REQUEST",
    "MEDIAFLOW_PRICE_DYNAMODB_WRITE_UNIT",
    "MEDIAFLOW_PRICE_DYNAMODB_READ_UNIT",
];

impl Prices {
    /// The default prices with the overrides `lookup` finds (by the names of [`PRICE_VARIABLES`]).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Prices, ConfigError> {
        let mut prices = Prices::default();
        let architecture = Architecture::current();
        for name in PRICE_VARIABLES {
            let Some(text) = lookup(name).filter(|text| !text.trim().is_empty()) else { continue };
            let price = match text.trim().parse::<f64>() {
                Ok(price) if price.is_finite() && price >= 0.0 => price,
                _ => {
                    return Err(ConfigError {
                        name,
                        value: text,
                        reason: "expected a price in USD such as 0.0000166667".into(),
                    });
                }
            };
            let slot = match name {
                "MEDIAFLOW_PRICE_LAMBDA_GB_SECOND" => match architecture {
                    Architecture::Arm64 => &mut prices.lambda_gb_second_arm64,
                    Architecture::X86_64 => &mut prices.lambda_gb_second_x86_64,
                },
                "MEDIAFLOW_PRICE_LAMBDA_REQUEST" => &mut prices.lambda_request,
                "MEDIAFLOW_PRICE_S3_WRITE_REQUEST" => &mut prices.s3_write_request,
                "MEDIAFLOW_PRICE_S3_READ_REQUEST" => &mut prices.s3_read_request,
                "MEDIAFLOW_PRICE_DYNAMODB_WRITE_UNIT" => &mut prices.dynamodb_write_unit,
                _ => &mut prices.dynamodb_read_unit,
            };
            *slot = price;
        }
        Ok(prices)
    }

    /// The GB-second price of `architecture` (`arm64`, else x86_64).
    pub fn lambda_gb_second(&self, architecture: &str) -> f64 {
        match Architecture::parse(architecture) {
            Architecture::Arm64 => self.lambda_gb_second_arm64,
            Architecture::X86_64 => self.lambda_gb_second_x86_64,
        }
    }

    /// What one attempt cost: its billed GB-seconds and one invocation (on Lambda), its S3
    /// requests and its DynamoDB request units.
    pub fn attempt_cost(&self, lambda: Option<&LambdaBilling>, requests: &Requests) -> Cost {
        let lambda_usd = lambda.map_or(0.0, |billing| {
            let gb_seconds = billing.billed_ms as f64 / 1000.0 * f64::from(billing.memory_mb) / 1024.0;
            gb_seconds * self.lambda_gb_second(&billing.architecture) + self.lambda_request
        });
        let s3_usd = f64::from(requests.s3_write) * self.s3_write_request
            + f64::from(requests.s3_read) * self.s3_read_request;
        let dynamodb_usd = requests.dynamodb_write_units * self.dynamodb_write_unit
            + requests.dynamodb_read_units * self.dynamodb_read_unit;
        Cost::of(lambda_usd, s3_usd, dynamodb_usd)
    }
}

/// The architectures Lambda prices differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Intel/AMD.
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// The architecture this binary was built for.
    pub fn current() -> Architecture {
        if cfg!(target_arch = "aarch64") { Architecture::Arm64 } else { Architecture::X86_64 }
    }

    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// `arm64` (or `aarch64`), else x86_64.
    pub fn parse(text: &str) -> Architecture {
        if matches!(text, "arm64" | "aarch64") { Architecture::Arm64 } else { Architecture::X86_64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::usage::{Attempt, Outcome};

    fn attempt(outcome: Outcome, billed_ms: u64, requests: Requests, prices: &Prices) -> Attempt {
        let lambda = LambdaBilling { memory_mb: 1769, architecture: "arm64".into(), billed_ms };
        Attempt {
            ended_at: Timestamp::from_millis(billed_ms),
            duration_ms: billed_ms,
            cost: prices.attempt_cost(Some(&lambda), &requests),
            lambda: Some(lambda),
            requests,
            ..Attempt::unmeasured(outcome, Timestamp::from_millis(0))
        }
    }

    #[test]
    fn an_uploads_cost_is_the_formula_over_every_attempt_retries_included() {
        let prices = Prices::default();
        // A thumbnail that failed once (throttled after a GET) and then succeeded: a HEAD and a
        // GET, three PUTs, one read unit, two write units and one failed conditional write.
        let failed = attempt(
            Outcome::Failed(media_core::ErrorCode::SERVICE_UNAVAILABLE),
            250,
            Requests { s3_read: 1, ..Requests::default() },
            &prices,
        );
        let requests = Requests {
            s3_read: 2,
            s3_write: 3,
            s3_delete: 4,
            s3_read_bytes: 1 << 20,
            dynamodb_reads: 1,
            dynamodb_writes: 3,
            dynamodb_read_units: 1.0,
            dynamodb_write_units: 3.0,
        };
        let done = attempt(Outcome::Ok, 1200, requests, &prices);
        let cost = Cost::sum([&failed, &done]);

        // By hand: 1769 MB = 1.727539 GB; arm64 at $0.0000133334 per GB-s; $0.0000002 a request.
        let gb = 1769.0 / 1024.0;
        let lambda = (0.250 * gb + 1.200 * gb) * 0.0000133334 + 2.0 * 0.0000002;
        let s3 = 3.0 * 0.0004 / 1000.0 + 3.0 * 0.005 / 1000.0;
        let dynamodb = 3.0 * 0.625 / 1e6 + 1.0 * 0.125 / 1e6;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(cost.lambda_usd, lambda), "{} vs {lambda}", cost.lambda_usd);
        assert!(close(cost.s3_usd, s3), "{} vs {s3}", cost.s3_usd);
        assert!(close(cost.dynamodb_usd, dynamodb), "{} vs {dynamodb}", cost.dynamodb_usd);
        assert!(close(cost.total_usd, lambda + s3 + dynamodb));
        // The failed attempt is about an eighth of the total: a retry is visible in the cost.
        assert!(failed.cost.total_usd > 0.1 * cost.total_usd);
    }

    #[test]
    fn worker_attempts_cost_their_requests_only() {
        let requests = Requests { s3_write: 1, dynamodb_write_units: 1.0, ..Requests::default() };
        let cost = Prices::default().attempt_cost(None, &requests);
        assert_eq!(cost.lambda_usd, 0.0);
        assert!((cost.total_usd - (0.000005 + 0.000000625)).abs() < 1e-15);
    }

    #[test]
    fn prices_are_overridden_by_the_environment_or_refused_with_the_variables_name() {
        let prices = Prices::from_lookup(|name| match name {
            "MEDIAFLOW_PRICE_S3_READ_REQUEST" => Some("0.000001".into()),
            "MEDIAFLOW_PRICE_LAMBDA_REQUEST" => Some(String::new()),
            _ => None,
        })
        .expect("prices");
        assert_eq!(prices.s3_read_request, 0.000001);
        assert_eq!(prices.lambda_request, Prices::default().lambda_request);
        let refused = Prices::from_lookup(|name| {
            (name == "MEDIAFLOW_PRICE_DYNAMODB_READ_UNIT").then(|| "cheap".to_owned())
        });
        assert!(matches!(refused, Err(ConfigError { name: "MEDIAFLOW_PRICE_DYNAMODB_READ_UNIT", .. })));
    }
}
