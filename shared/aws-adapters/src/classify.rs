//! SDK errors to [`PortError`]s: throttling, 5xx, timeouts and network failures are
//! `Unavailable` (retried), missing resources `NotFound`, everything else `Rejected`.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use pipeline::{PortError, PortErrorKind};

const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "InternalServerError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchKey",
    "NotFound",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
];

/// Classifies an SDK error of `operation`.
pub(crate) fn port_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortErrorKind::Unavailable
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            if RETRYABLE_CODES.contains(&code) || status >= 500 || status == 429 {
                PortErrorKind::Unavailable
            } else if NOT_FOUND_CODES.contains(&code) || status == 404 {
                PortErrorKind::NotFound
            } else {
                PortErrorKind::Rejected
            }
        }
        _ => PortErrorKind::Rejected,
    };
    let message = DisplayErrorContext(&error).to_string();
    PortError { operation, kind, message, source: Some(Box::new(error)) }
}

/// Whether a service error is DynamoDB's `ConditionalCheckFailedException`.
pub(crate) fn is_conditional_check_failed<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
}

/// Whether a service error is DynamoDB's `ValidationException` for an update path that does not
/// exist in the item.
pub(crate) fn is_invalid_document_path<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(error, SdkError::ServiceError(service)
        if service.err().code() == Some("ValidationException")
            && service.err().message().is_some_and(|message| message.contains("document path")))
}
