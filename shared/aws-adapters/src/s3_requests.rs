//! Counts every S3 request (each retry too: S3 bills them) in the current attempt's ledger, by
//! price class, and the bytes GETs returned (what a ranged read of a video really fetched). An interceptor on the client rather than counts at each call site, because one
//! call can be many requests: a multipart upload, a paginated listing, a batch of tag writes.

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use pipeline::usage::{self, Requests};

/// The S3 client interceptor that counts requests.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CountRequests;

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "mediaflow.CountRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("", Metadata::name);
        let class = price_class(operation, context.request().method());
        usage::count(|requests| *class(requests) += 1);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().is_some_and(|metadata| metadata.name() == "GetObject")
            && context.response().status().is_success()
        {
            let length =
                context.response().headers().get("content-length").and_then(|value| value.parse().ok());
            usage::count(|requests| requests.s3_read_bytes += length.unwrap_or(0));
        }
        Ok(())
    }
}

/// Which counter a request of `operation` (or, unnamed, of HTTP `method`) goes to: S3 bills PUT,
/// COPY, POST and LIST alike, GET, HEAD and the rest at a tenth of that, and DELETE not at all.
fn price_class(operation: &str, method: &str) -> fn(&mut Requests) -> &mut u32 {
    if operation.starts_with("Delete") || operation == "AbortMultipartUpload" {
        |requests| &mut requests.s3_delete
    } else if operation.starts_with("List") || !matches!(method, "GET" | "HEAD") {
        |requests| &mut requests.s3_write
    } else {
        |requests| &mut requests.s3_read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(operation: &str, method: &str) -> &'static str {
        let mut requests = Requests::default();
        *price_class(operation, method)(&mut requests) += 1;
        match (requests.s3_write, requests.s3_read, requests.s3_delete) {
            (1, 0, 0) => "write",
            (0, 1, 0) => "read",
            _ => "delete",
        }
    }

    #[test]
    fn requests_are_classed_as_s3_prices_them() {
        assert_eq!(class("GetObject", "GET"), "read");
        assert_eq!(class("HeadObject", "HEAD"), "read");
        assert_eq!(class("ListObjectsV2", "GET"), "write");
        assert_eq!(class("PutObject", "PUT"), "write");
        assert_eq!(class("UploadPart", "PUT"), "write");
        assert_eq!(class("CompleteMultipartUpload", "POST"), "write");
        assert_eq!(class("PutObjectTagging", "PUT"), "write");
        assert_eq!(class("DeleteObjects", "POST"), "delete");
        assert_eq!(class("DeleteObject", "DELETE"), "delete");
    }
}
