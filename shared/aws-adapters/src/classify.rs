//! SDK errors to [`PortError`]s: throttling, transient errors, 5xx, timeouts and network failures
//! are `Unavailable` (retried), missing resources `NotFound`, everything else `Rejected`.
//!
//! Which service error codes mean throttling or a transient failure is the SDK's own knowledge:
//! the lists its retry classifier uses (`aws_runtime::retries::classifiers`), so a code the SDK
//! learns is learnt here too. Server errors are classified by their HTTP status.

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use pipeline::{PortError, PortErrorKind};

/// Retried although the SDK's lists do not have them: DynamoDB's conflict with a running
/// transaction (HTTP 400), and server errors some services send with a 200-class or 400 status.
const ALSO_RETRYABLE: &[&str] =
    &["TransactionConflictException", "InternalError", "InternalFailure", "ServiceUnavailable"];

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
            let retryable = THROTTLING_ERRORS.contains(&code)
                || TRANSIENT_ERRORS.contains(&code)
                || ALSO_RETRYABLE.contains(&code);
            if retryable || status >= 500 || status == 429 {
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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(code: &str, status: u16) -> SdkError<GetItemError, HttpResponse> {
        let error =
            GetItemError::generic(ErrorMetadata::builder().code(code).message("from the test").build());
        let status = StatusCode::try_from(status).expect("a status");
        SdkError::service_error(error, HttpResponse::new(status, SdkBody::empty()))
    }

    #[test]
    fn one_code_of_each_kind_is_classified_as_the_sdk_classifies_it() {
        let cases = [
            ("ThrottlingException", 400, PortErrorKind::Unavailable),
            ("RequestTimeout", 400, PortErrorKind::Unavailable),
            ("TransactionConflictException", 400, PortErrorKind::Unavailable),
            ("InternalServerError", 500, PortErrorKind::Unavailable),
            ("ResourceNotFoundException", 400, PortErrorKind::NotFound),
            ("AccessDeniedException", 403, PortErrorKind::Rejected),
        ];
        for (code, status, kind) in cases {
            let error = port_error("dynamodb:GetItem", service_error(code, status));
            assert_eq!(error.kind, kind, "{code} ({status})");
            assert!(error.message.contains(code), "{}", error.message);
        }
    }
}
