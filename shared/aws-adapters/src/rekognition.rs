//! [`Classifier`](pipeline::moderation::Classifier) on Amazon Rekognition's
//! `DetectModerationLabels`: the picture is fitted to the service's limits (bytes, minimum
//! dimensions), sent as JPEG bytes, and the labels Rekognition returns, every level of its
//! taxonomy, come back with confidences in [0, 1].
//!
//! Rekognition's image limits, from its "Guidelines and quotas" page: JPEG or PNG; at most
//! 5 MB (5,242,880 bytes) as `Image.Bytes`; at least 80 pixels in width and in height; at most
//! 10,000 pixels a side for `DetectModerationLabels`.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_rekognition::Client;
use aws_sdk_rekognition::config::http::HttpResponse;
use aws_sdk_rekognition::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::operation::detect_moderation_labels::{
    DetectModerationLabelsError, DetectModerationLabelsOutput,
};
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::Image;
use image::{DynamicImage, RgbImage};
use media_core::OutputFormat;
use media_core::geometry::fit_within;
use pipeline::job_support::blocking;
use pipeline::moderation::{Classifier, ModerationLabel, ModerationModel, ModerationProvider};
use pipeline::{ErrorCode, Failure, JobError, PortErrorKind};

use crate::classify::port_error;

/// The operation named in [`PortError`](pipeline::PortError)s and logs.
const OPERATION: &str = "rekognition:DetectModerationLabels";

/// The code of a picture Rekognition refuses (bad format, too large, invalid parameter): the
/// input's fault, recorded on the asset and not retried.
const REFUSED: ErrorCode = ErrorCode::MODERATION_REFUSED;

/// Rekognition's limit for `Image.Bytes`, before base64 (the SDK encodes).
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Rekognition's minimum width and height.
const MIN_SIDE: u32 = 80;

/// The longest side sent. Moderation labels describe the whole picture (nudity, violence, drugs),
/// not small details, so more pixels buy no accuracy; fewer bytes mean a faster upload and a
/// lower latency. At 1600×1600 (2.6 megapixels) and JPEG quality 90 a photograph is well under
/// a megabyte and uniform noise, JPEG's worst case, 2.3 MB: half the 5 MB limit, so the quality
/// steps of [`QUALITIES`] are only a safety net. (1920 would still fit, with less margin.)
const INPUT_BOX: u32 = 1600;

/// JPEG qualities tried in turn until the picture fits in [`MAX_IMAGE_BYTES`]: 90 keeps the
/// picture indistinguishable from the source to the classifier; the lower ones only matter for
/// noise-like pictures.
const QUALITIES: [u8; 3] = [90, 75, 60];

/// Rekognition's default `MinConfidence`, in percent: it omits labels below it.
const DEFAULT_MIN_CONFIDENCE: f32 = 50.0;

/// Amazon Rekognition as the moderation classifier.
#[derive(Debug)]
pub struct RekognitionClassifier {
    client: Client,
    /// `MinConfidence` sent with every request, in percent (see [`RekognitionClassifier::new`]).
    min_confidence: f32,
    /// The `ModerationModelVersion` of the last response, for [`Classifier::model`].
    model_version: Mutex<Option<String>>,
}

impl RekognitionClassifier {
    /// A classifier on `client` for a stack that flags at `threshold` (in [0, 1]).
    ///
    /// Rekognition omits labels under the request's `MinConfidence`, so the classifier asks for
    /// everything from `min(threshold, 50%)`: a threshold under 50% still sees every label that
    /// can flag, and with the default threshold of 80% the record also keeps the near misses
    /// between 50% and 80%, which say why an asset was allowed. Below 50% Rekognition's labels
    /// are mostly noise, so they are not asked for unless the threshold needs them.
    pub fn new(client: Client, threshold: f32) -> RekognitionClassifier {
        RekognitionClassifier {
            client,
            min_confidence: min_confidence_for(threshold),
            model_version: Mutex::new(None),
        }
    }

    /// A classifier with a client built from the shared SDK configuration (region, credentials,
    /// retries), see [`new`](RekognitionClassifier::new).
    pub fn from_conf(sdk: &aws_config::SdkConfig, threshold: f32) -> RekognitionClassifier {
        RekognitionClassifier::new(Client::new(sdk), threshold)
    }

    fn remember_model_version(&self, version: &str) {
        let mut slot = self.model_version.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_deref() != Some(version) {
            *slot = Some(version.to_owned());
        }
    }
}

#[async_trait]
impl Classifier for RekognitionClassifier {
    fn provider(&self) -> ModerationProvider {
        ModerationProvider::Rekognition
    }

    /// `rekognition-<ModerationModelVersion>` (such as `rekognition-7.0`) of the last response,
    /// or `rekognition` before the first one: the service picks the model, and says which only
    /// in its responses, so a caller that wants the exact version asks after `classify`.
    fn model(&self) -> ModerationModel {
        let version = self.model_version.lock().unwrap_or_else(PoisonError::into_inner);
        let name = match version.as_deref() {
            Some(version) => format!("rekognition-{version}"),
            None => "rekognition".to_owned(),
        };
        ModerationModel { name, sha256: None }
    }

    fn input_box(&self) -> u32 {
        INPUT_BOX
    }

    async fn classify(&self, image: RgbImage) -> Result<Vec<ModerationLabel>, JobError> {
        let jpeg = blocking(move || jpeg_for_rekognition(image)).await?;
        tracing::debug!(bytes = jpeg.len(), "sending the picture to Rekognition");
        let output = self
            .client
            .detect_moderation_labels()
            .image(Image::builder().bytes(Blob::new(jpeg)).build())
            .min_confidence(self.min_confidence)
            .send()
            .await
            .map_err(job_error)?;
        if let Some(version) = output.moderation_model_version() {
            self.remember_model_version(version);
        }
        Ok(moderation_labels(&output))
    }
}

/// `MinConfidence` in percent for a flagging `threshold` in [0, 1]: `min(threshold, 50%)`,
/// rounded to a hundredth of a percent so that a threshold of 0.3 asks for 30, not the
/// 30.000002 of `0.3f32 * 100` (which would omit a label at exactly 30% that the threshold flags).
fn min_confidence_for(threshold: f32) -> f32 {
    let percent = (threshold * 10_000.0).round() / 100.0;
    if percent.is_nan() { DEFAULT_MIN_CONFIDENCE } else { percent.clamp(0.0, DEFAULT_MIN_CONFIDENCE) }
}

/// The labels of a response: every label Rekognition returned, parents included (a level-3 label
/// comes with its level-2 and level-1 parents), so a policy can match at any level. Labels without
/// a name or a confidence say nothing and are dropped.
fn moderation_labels(output: &DetectModerationLabelsOutput) -> Vec<ModerationLabel> {
    output
        .moderation_labels()
        .iter()
        .filter_map(|label| {
            let name = label.name().filter(|name| !name.is_empty())?;
            let confidence = label.confidence().filter(|confidence| confidence.is_finite())?;
            Some(ModerationLabel { name: name.to_owned(), confidence: (confidence / 100.0).clamp(0.0, 1.0) })
        })
        .collect()
}

/// The size `width`×`height` is scaled to: fitted into [`INPUT_BOX`], and a picture with a side
/// under [`MIN_SIDE`] is enlarged until that side reaches it (or the other reaches the box).
/// Enlarging a small picture rather than refusing it keeps icons and thumbnails moderated; what
/// Rekognition can see in them is what a viewer sees.
fn scaled_size(width: u32, height: u32) -> (u32, u32) {
    let (width, height) = fit_within(width, height, INPUT_BOX);
    let (short, long) = (width.min(height), width.max(height));
    if short >= MIN_SIDE {
        return (width, height);
    }
    let scale = (f64::from(MIN_SIDE) / f64::from(short)).min(f64::from(INPUT_BOX) / f64::from(long));
    let side = |length: u32| ((f64::from(length) * scale).round() as u32).clamp(1, INPUT_BOX);
    (side(width), side(height))
}

/// `image` as a JPEG Rekognition accepts: scaled (see [`scaled_size`]), padded with black to
/// [`MIN_SIDE`] when its aspect ratio is too extreme for scaling alone (beyond 20:1), and encoded
/// at the first of [`QUALITIES`] that fits in [`MAX_IMAGE_BYTES`], halving the size if none does.
fn jpeg_for_rekognition(image: RgbImage) -> Result<Vec<u8>, JobError> {
    jpeg_within(image, MAX_IMAGE_BYTES)
}

/// [`jpeg_for_rekognition`] with a byte limit of `max_bytes`.
fn jpeg_within(image: RgbImage, max_bytes: usize) -> Result<Vec<u8>, JobError> {
    if image.width() == 0 || image.height() == 0 {
        return Err(JobError::Permanent(Failure::new(REFUSED, "the picture to moderate is empty")));
    }
    let (width, height) = scaled_size(image.width(), image.height());
    let mut picture = resized(image, width, height)?;
    loop {
        for quality in QUALITIES {
            let jpeg = media_core::encode(&picture, OutputFormat::Jpeg, quality)?;
            if jpeg.len() <= max_bytes {
                return Ok(jpeg);
            }
        }
        // A safety net: even uniform noise, JPEG's worst case, is 2.3 MB at 1600×1600 and quality
        // 90. Each halving quarters the bytes and a picture at the minimum size is a few kilobytes,
        // so this ends.
        let (width, height) = (picture.width(), picture.height());
        if width.min(height) <= MIN_SIDE {
            return Err(JobError::Permanent(Failure::new(
                REFUSED,
                format!("the picture does not fit in {max_bytes} bytes as JPEG at {width}x{height}"),
            )));
        }
        let rgb = picture.into_rgb8();
        let (width, height) = (width.div_ceil(2).max(MIN_SIDE), height.div_ceil(2).max(MIN_SIDE));
        picture = resized(rgb, width, height)?;
    }
}

/// `image` resized to `width`×`height` (Lanczos3) and padded with black, centred, to at least
/// [`MIN_SIDE`] a side.
fn resized(image: RgbImage, width: u32, height: u32) -> Result<DynamicImage, JobError> {
    let image = DynamicImage::ImageRgb8(image);
    let image = if (image.width(), image.height()) == (width, height) {
        image
    } else {
        media_core::resize(&image, width, height)?
    };
    if width >= MIN_SIDE && height >= MIN_SIDE {
        return Ok(image);
    }
    let mut canvas = RgbImage::new(width.max(MIN_SIDE), height.max(MIN_SIDE));
    let x = (canvas.width() - width) / 2;
    let y = (canvas.height() - height) / 2;
    image::imageops::replace(&mut canvas, &image.into_rgb8(), i64::from(x), i64::from(y));
    Ok(DynamicImage::ImageRgb8(canvas))
}

/// A failed `DetectModerationLabels` as a job error: a picture the service refuses is permanent
/// (`moderation-refused`, with the service's message); throttling and server errors are retried
/// (`Unavailable`); access denied is `Rejected` (retried into the DLQ, redriven after a fix); the
/// rest is classified by status and code like every other AWS call.
fn job_error(error: SdkError<DetectModerationLabelsError, HttpResponse>) -> JobError {
    let mut kind = None;
    if let SdkError::ServiceError(service) = &error {
        use DetectModerationLabelsError as E;
        match service.err() {
            E::InvalidImageFormatException(_)
            | E::ImageTooLargeException(_)
            | E::InvalidParameterException(_) => {
                let code = service.err().code().unwrap_or("refused");
                let message = service.err().message().unwrap_or("no message");
                return JobError::Permanent(Failure::new(REFUSED, format!("Rekognition: {code}: {message}")));
            }
            E::ThrottlingException(_)
            | E::ProvisionedThroughputExceededException(_)
            | E::InternalServerError(_)
            | E::ResourceNotReadyException(_) => kind = Some(PortErrorKind::Unavailable),
            E::AccessDeniedException(_) | E::HumanLoopQuotaExceededException(_) => {
                kind = Some(PortErrorKind::Rejected)
            }
            // An S3 object or a custom adapter (ProjectVersion): neither is sent, so these mean a
            // misconfiguration and take the generic classification.
            E::InvalidS3ObjectException(_) | E::ResourceNotFoundException(_) => {}
            // Unmodelled errors and variants added by later SDK versions.
            _ => {}
        }
    }
    let mut port = port_error(OPERATION, error);
    if let Some(kind) = kind {
        port.kind = kind;
    }
    JobError::Port(port)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_rekognition::config::retry::RetryConfig;
    use aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsInput;
    use aws_sdk_rekognition::types::ModerationLabel as RekognitionLabel;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    /// A `DetectModerationLabels` response in the shape the service returns (model 7.0, three
    /// taxonomy levels, parents listed with their children), plus an unnamed label.
    const RECORDED_LABELS: &str = r#"{
        "ModerationLabels": [
            {"Confidence": 97.30000305175781, "Name": "Explicit", "ParentName": "",
             "TaxonomyLevel": 1},
            {"Confidence": 97.30000305175781, "Name": "Explicit Nudity", "ParentName": "Explicit",
             "TaxonomyLevel": 2},
            {"Confidence": 97.30000305175781, "Name": "Exposed Buttocks or Anus",
             "ParentName": "Explicit Nudity", "TaxonomyLevel": 3},
            {"Confidence": 61.25, "Name": "Non-Explicit Nudity of Intimate parts and Kissing",
             "ParentName": "", "TaxonomyLevel": 1},
            {"Confidence": 55.0, "ParentName": "", "TaxonomyLevel": 1}
        ],
        "ModerationModelVersion": "7.0",
        "ContentTypes": [{"Confidence": 99.91, "Name": "Animated"}]
    }"#;

    /// A client whose single call gets `status` and `body`, recording the request in `sent`.
    /// Retries are off so that one recorded response is one attempt.
    fn client_answering(
        status: u16,
        body: &str,
        sent: &Arc<Mutex<Option<DetectModerationLabelsInput>>>,
    ) -> (Client, Rule) {
        let sent = Arc::clone(sent);
        let rule = mock!(Client::detect_moderation_labels)
            .match_requests(move |input| {
                *sent.lock().unwrap_or_else(PoisonError::into_inner) = Some(input.clone());
                true
            })
            .sequence()
            .http_status(status, Some(body.to_owned()))
            .build();
        let client = mock_client!(aws_sdk_rekognition, RuleMode::Sequential, [&rule], |config| config
            .retry_config(RetryConfig::disabled()));
        (client, rule)
    }

    fn error_body(code: &str, message: &str) -> String {
        format!(r#"{{"__type": "{code}", "Message": "{message}"}}"#)
    }

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        })
    }

    fn sent_image(sent: &Mutex<Option<DetectModerationLabelsInput>>) -> (Vec<u8>, Option<f32>) {
        let input = sent.lock().unwrap_or_else(PoisonError::into_inner).clone().expect("a request was sent");
        let bytes = input.image().and_then(|image| image.bytes()).expect("Image.Bytes").as_ref().to_vec();
        (bytes, input.min_confidence())
    }

    #[tokio::test]
    async fn a_recorded_response_maps_every_taxonomy_level_to_confidences_in_0_1() {
        let sent = Arc::default();
        let (client, rule) = client_answering(200, RECORDED_LABELS, &sent);
        let classifier = RekognitionClassifier::new(client, 0.8);
        assert_eq!(classifier.model().name, "rekognition");

        let labels = classifier.classify(gradient(4000, 3000)).await.expect("labels");

        assert_eq!(rule.num_calls(), 1);
        let names: Vec<&str> = labels.iter().map(|label| label.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Explicit",
                "Explicit Nudity",
                "Exposed Buttocks or Anus",
                "Non-Explicit Nudity of Intimate parts and Kissing"
            ]
        );
        assert!((labels[0].confidence - 0.973).abs() < 1e-4, "{labels:?}");
        assert!((labels[3].confidence - 0.6125).abs() < 1e-4, "{labels:?}");
        assert!(labels.iter().all(|label| (0.0..=1.0).contains(&label.confidence)));
        assert_eq!(classifier.model(), ModerationModel { name: "rekognition-7.0".into(), sha256: None });

        // The request: a JPEG of the picture fitted into the input box, and MinConfidence 50
        // (min(threshold 80%, 50%)).
        let (jpeg, min_confidence) = sent_image(&sent);
        assert_eq!(&jpeg[..2], [0xFF, 0xD8], "not a JPEG");
        assert!(jpeg.len() <= MAX_IMAGE_BYTES);
        let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (1600, 1200));
        assert_eq!(min_confidence, Some(50.0));
    }

    #[tokio::test]
    async fn a_threshold_under_50_percent_asks_for_labels_from_the_threshold() {
        // The rule only matches the MinConfidence expected: in sequential mode a request that
        // does not match fails the test.
        let rule = mock!(Client::detect_moderation_labels)
            .match_requests(|input| input.min_confidence() == Some(30.0))
            .sequence()
            .http_status(200, Some(r#"{"ModerationLabels": [], "ModerationModelVersion": "7.0"}"#.to_owned()))
            .build();
        let client = mock_client!(aws_sdk_rekognition, RuleMode::Sequential, [&rule]);
        let labels =
            RekognitionClassifier::new(client, 0.3).classify(gradient(200, 100)).await.expect("labels");
        assert!(labels.is_empty());
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(min_confidence_for(0.0), 0.0);
        assert_eq!(min_confidence_for(1.0), 50.0);
        assert_eq!(min_confidence_for(f32::NAN), 50.0);
        assert_eq!(min_confidence_for(-1.0), 0.0);
    }

    #[tokio::test]
    async fn an_empty_label_list_gives_no_labels() {
        let sent = Arc::default();
        let body = r#"{"ModerationLabels": [], "ModerationModelVersion": "7.0", "ContentTypes": []}"#;
        let (client, rule) = client_answering(200, body, &sent);
        let classifier = RekognitionClassifier::new(client, 0.8);
        let labels = classifier.classify(gradient(640, 480)).await.expect("labels");
        assert_eq!(labels, []);
        assert_eq!(rule.num_calls(), 1);
        // A picture inside the box is sent at its own size.
        let (jpeg, _) = sent_image(&sent);
        let decoded = image::load_from_memory(&jpeg).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (640, 480));
    }

    #[tokio::test]
    async fn a_refused_picture_is_a_permanent_moderation_refused() {
        for code in ["InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"] {
            let sent = Arc::default();
            let (client, _rule) =
                client_answering(400, &error_body(code, "Request has invalid image format"), &sent);
            let error = RekognitionClassifier::new(client, 0.8)
                .classify(gradient(100, 100))
                .await
                .expect_err("refused");
            assert!(matches!(error, JobError::Permanent(_)), "{code}: {error:?}");
            assert!(!error.is_retryable(), "{code}");
            assert_eq!(error.code(), ErrorCode::MODERATION_REFUSED, "{code}");
            let failure = error.to_failure();
            assert!(
                failure.message.contains("Request has invalid image format"),
                "{code}: {}",
                failure.message
            );
            assert!(failure.message.contains(code), "{code}: {}", failure.message);
        }
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_and_access_denied_is_rejected() {
        let cases = [
            ("ThrottlingException", 400, PortErrorKind::Unavailable, ErrorCode::SERVICE_UNAVAILABLE),
            (
                "ProvisionedThroughputExceededException",
                400,
                PortErrorKind::Unavailable,
                ErrorCode::SERVICE_UNAVAILABLE,
            ),
            ("InternalServerError", 500, PortErrorKind::Unavailable, ErrorCode::SERVICE_UNAVAILABLE),
            ("AccessDeniedException", 400, PortErrorKind::Rejected, ErrorCode::ACCESS_DENIED),
        ];
        for (code, status, kind, job_code) in cases {
            let sent = Arc::default();
            let (client, rule) = client_answering(status, &error_body(code, "Slow down"), &sent);
            let error = RekognitionClassifier::new(client, 0.8)
                .classify(gradient(100, 100))
                .await
                .expect_err("failed");
            assert_eq!(rule.num_calls(), 1, "{code}");
            match &error {
                JobError::Port(port) => {
                    assert_eq!(port.kind, kind, "{code}");
                    assert_eq!(port.operation, "rekognition:DetectModerationLabels");
                }
                other => panic!("{code}: expected a port error, got {other:?}"),
            }
            assert!(error.is_retryable(), "{code}");
            assert_eq!(error.code(), job_code, "{code}");
        }
    }

    #[tokio::test]
    async fn a_one_pixel_picture_is_enlarged_to_the_minimum_size() {
        let sent = Arc::default();
        let (client, _rule) = client_answering(200, r#"{"ModerationLabels": []}"#, &sent);
        let classifier = RekognitionClassifier::new(client, 0.8);
        let labels =
            classifier.classify(RgbImage::from_pixel(1, 1, image::Rgb([200, 10, 10]))).await.expect("labels");
        assert!(labels.is_empty());
        // No ModerationModelVersion in the response: the model stays the generic name.
        assert_eq!(classifier.model().name, "rekognition");
        let (jpeg, _) = sent_image(&sent);
        let decoded = image::load_from_memory(&jpeg).expect("decodes").into_rgb8();
        assert_eq!(decoded.dimensions(), (80, 80));
        let centre = decoded.get_pixel(40, 40);
        assert!(centre[0] > 150 && centre[1] < 60, "{centre:?}");
    }

    #[test]
    fn small_and_extreme_pictures_reach_the_minimum_size_within_the_box() {
        assert_eq!(scaled_size(4000, 3000), (1600, 1200));
        assert_eq!(scaled_size(1, 1), (80, 80));
        assert_eq!(scaled_size(40, 20), (160, 80));
        assert_eq!(scaled_size(100, 100), (100, 100));
        // 3000×20 fits as 1600×11: enlarging to 80 px high would take it past the box, so it is
        // kept at the box's width and padded.
        assert_eq!(scaled_size(3000, 20), (1600, 11));
        for (width, height) in [(3000, 20), (1, 5000), (79, 1)] {
            let jpeg = jpeg_for_rekognition(gradient(width, height)).expect("jpeg");
            let decoded = image::load_from_memory(&jpeg).expect("decodes");
            let (w, h) = (decoded.width(), decoded.height());
            assert!(
                w >= MIN_SIDE && h >= MIN_SIDE && w <= INPUT_BOX && h <= INPUT_BOX,
                "{width}x{height} -> {w}x{h}"
            );
        }
        let empty = jpeg_for_rekognition(RgbImage::new(0, 0)).expect_err("empty");
        assert_eq!(empty.code(), ErrorCode::MODERATION_REFUSED);
    }

    fn noise(side: u32) -> RgbImage {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        RgbImage::from_fn(side, side, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        })
    }

    #[test]
    fn noise_at_the_full_box_fits_in_5_mb_at_the_first_quality() {
        // Uniform noise is JPEG's worst case.
        let jpeg = jpeg_for_rekognition(noise(INPUT_BOX)).expect("jpeg");
        assert!(jpeg.len() <= MAX_IMAGE_BYTES, "{} bytes", jpeg.len());
        let again =
            media_core::encode(&DynamicImage::ImageRgb8(noise(INPUT_BOX)), OutputFormat::Jpeg, QUALITIES[0]);
        assert_eq!(jpeg, again.expect("jpeg"), "not sent at quality {}", QUALITIES[0]);
    }

    #[test]
    fn a_picture_over_the_byte_limit_is_sent_at_a_lower_quality_then_smaller() {
        let picture = noise(800);
        let full = media_core::encode(&DynamicImage::ImageRgb8(picture.clone()), OutputFormat::Jpeg, 90)
            .expect("jpeg");
        // Just under the first try: a lower quality at the same size.
        let lower = jpeg_within(picture.clone(), full.len() - 1).expect("jpeg");
        assert!(lower.len() < full.len());
        assert_eq!(image::load_from_memory(&lower).expect("decodes").width(), 800);
        // A tenth of it: no quality is enough, so the picture is halved (more than once).
        let smaller = jpeg_within(picture.clone(), full.len() / 10).expect("jpeg");
        assert!(smaller.len() <= full.len() / 10);
        let width = image::load_from_memory(&smaller).expect("decodes").width();
        assert!((MIN_SIDE..800).contains(&width), "{width}");
        // Nothing fits: refused, not looped forever.
        let refused = jpeg_within(picture, 100).expect_err("too small a limit");
        assert_eq!(refused.code(), ErrorCode::MODERATION_REFUSED);
    }

    #[test]
    fn labels_without_a_name_or_a_confidence_are_dropped_and_confidences_clamped() {
        let label = |name: Option<&str>, confidence: Option<f32>| {
            RekognitionLabel::builder().set_name(name.map(str::to_owned)).set_confidence(confidence).build()
        };
        let output = DetectModerationLabelsOutput::builder()
            .moderation_labels(label(Some("Violence"), Some(100.5)))
            .moderation_labels(label(None, Some(90.0)))
            .moderation_labels(label(Some(""), Some(90.0)))
            .moderation_labels(label(Some("Drugs & Tobacco"), None))
            .moderation_labels(label(Some("Hate Symbols"), Some(f32::NAN)))
            .moderation_labels(label(Some("Gambling"), Some(-1.0)))
            .build();
        assert_eq!(
            moderation_labels(&output),
            [
                ModerationLabel { name: "Violence".into(), confidence: 1.0 },
                ModerationLabel { name: "Gambling".into(), confidence: 0.0 },
            ]
        );
    }
}
