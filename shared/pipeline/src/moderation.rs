//! Content moderation as a port: a [`Classifier`] says what it sees in one upright picture, and the
//! moderate job turns the labels of an image (or of a video's keyframes) into a [`Moderation`]
//! record with a decision against the configured threshold.
//!
//! Two classifiers implement the port: `moderation-local` runs Yahoo's open_nsfw in process with
//! tract (offline, nothing to call), and `aws-adapters`' Rekognition adapter calls
//! `DetectModerationLabels`. Which one a stack uses is configuration (`MEDIAFLOW_MODERATION`).

use async_trait::async_trait;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::JobError;

/// Who classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModerationProvider {
    /// An ONNX model run in process (`MEDIAFLOW_MODERATION=local`).
    Local,
    /// Amazon Rekognition's `DetectModerationLabels` (`MEDIAFLOW_MODERATION=rekognition`).
    Rekognition,
}

impl ModerationProvider {
    /// The name used in records and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationProvider::Local => "local",
            ModerationProvider::Rekognition => "rekognition",
        }
    }
}

/// Which model produced the labels, so a record can be traced to the exact weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationModel {
    /// The model's name (`open_nsfw`), or the service's model version (`rekognition-7.0`, from
    /// Rekognition's `ModerationModelVersion`).
    pub name: String,
    /// SHA-256 of the weights file, for a local model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One kind of content a classifier found, with its confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationLabel {
    /// What was found: `nsfw` for open_nsfw; Rekognition's label names (`Explicit Nudity`,
    /// `Violence`, ...).
    pub name: String,
    /// Confidence in [0, 1].
    pub confidence: f32,
}

/// What the policy says about an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModerationDecision {
    /// Every label is under the threshold.
    Allowed,
    /// A label reached the threshold: the completion event is `Asset Flagged` and the derivatives
    /// are tagged `moderation=flagged`.
    Flagged,
}

/// The moderation record kept on an asset (and printed by `mediaflow moderate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moderation {
    /// Who classified.
    pub provider: ModerationProvider,
    /// With which model.
    pub model: ModerationModel,
    /// What was found, highest confidence first; for a video, each label's highest confidence
    /// over the frames classified.
    pub labels: Vec<ModerationLabel>,
    /// Allowed or flagged, against `threshold`.
    pub decision: ModerationDecision,
    /// The confidence at or above which a label flags the asset (`f64`, so that `0.8` reads
    /// back as `0.8` in JSON; confidences stay the `f32` the classifiers give).
    pub threshold: f64,
    /// How many pictures were classified: 1 for an image, the keyframes for a video.
    pub frames: u32,
    /// Time taken to classify, decoding included, in milliseconds.
    pub ms: u64,
}

impl Moderation {
    /// The record for the labels of `frames` pictures: each label's worst (highest) confidence,
    /// highest first, and the decision against `threshold`.
    pub fn decide(
        provider: ModerationProvider,
        model: ModerationModel,
        frames: &[Vec<ModerationLabel>],
        threshold: f64,
        ms: u64,
    ) -> Moderation {
        let mut labels: Vec<ModerationLabel> = Vec::new();
        for label in frames.iter().flatten() {
            match labels.iter_mut().find(|seen| seen.name == label.name) {
                Some(seen) => seen.confidence = seen.confidence.max(label.confidence),
                None => labels.push(label.clone()),
            }
        }
        labels.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then_with(|| a.name.cmp(&b.name)));
        let flagged = labels.iter().any(|label| f64::from(label.confidence) >= threshold);
        Moderation {
            provider,
            model,
            labels,
            decision: if flagged { ModerationDecision::Flagged } else { ModerationDecision::Allowed },
            threshold,
            frames: frames.len() as u32,
            ms,
        }
    }

    /// Whether the asset is flagged.
    pub fn is_flagged(&self) -> bool {
        self.decision == ModerationDecision::Flagged
    }
}

/// An image classifier for moderation: one upright sRGB picture in, labels out.
#[async_trait]
pub trait Classifier: Send + Sync {
    /// Who classifies.
    fn provider(&self) -> ModerationProvider;

    /// With which model.
    fn model(&self) -> ModerationModel;

    /// The square box the picture handed to [`classify`](Classifier::classify) should cover: the
    /// caller decodes no larger than needed to fill it, and the classifier scales the rest itself
    /// (open_nsfw to 256×256, Rekognition to what fits its size limit).
    fn input_box(&self) -> u32;

    /// The labels of content to moderate found in `image`, confidences in [0, 1]. A label whose
    /// confidence reaches the threshold flags the asset, so a classifier returns no "safe" labels.
    ///
    /// Errors: [`JobError::Permanent`] when the picture itself is refused (Rekognition's
    /// `InvalidImageFormatException`), a retryable error otherwise.
    async fn classify(&self, image: RgbImage) -> Result<Vec<ModerationLabel>, JobError>;
}

/// The moderation settings of a stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModerationSettings {
    /// The confidence at or above which a label flags an asset (default 0.8: open_nsfw's authors
    /// call scores above 0.8 likely NSFW and below 0.2 likely safe).
    pub threshold: f64,
    /// How many keyframes of a video are classified, spread over the clip.
    pub video_frames: u32,
}

impl Default for ModerationSettings {
    fn default() -> ModerationSettings {
        ModerationSettings { threshold: 0.8, video_frames: 5 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, confidence: f32) -> ModerationLabel {
        ModerationLabel { name: name.into(), confidence }
    }

    fn model() -> ModerationModel {
        ModerationModel { name: "open_nsfw".into(), sha256: Some("ab".into()) }
    }

    #[test]
    fn a_video_keeps_each_labels_worst_frame_and_is_flagged_by_any_label_at_the_threshold() {
        let frames = vec![
            vec![label("nsfw", 0.1)],
            vec![label("nsfw", 0.85), label("violence", 0.2)],
            vec![label("nsfw", 0.3)],
        ];
        let moderation = Moderation::decide(ModerationProvider::Local, model(), &frames, 0.8, 12);
        assert_eq!(moderation.labels, vec![label("nsfw", 0.85), label("violence", 0.2)]);
        assert_eq!(moderation.decision, ModerationDecision::Flagged);
        assert_eq!(moderation.frames, 3);
        let allowed = Moderation::decide(ModerationProvider::Local, model(), &frames, 0.9, 12);
        assert_eq!(allowed.decision, ModerationDecision::Allowed);
        // At the threshold is flagged; a threshold of 0 flags anything with a label.
        let at = Moderation::decide(ModerationProvider::Local, model(), &frames, 0.85, 12);
        assert!(at.is_flagged());
        let none = Moderation::decide(ModerationProvider::Rekognition, model(), &[vec![]], 0.0, 1);
        assert_eq!(none.decision, ModerationDecision::Allowed);
    }

    #[test]
    fn the_record_serialises_with_kebab_case_names() {
        let moderation =
            Moderation::decide(ModerationProvider::Local, model(), &[vec![label("nsfw", 0.5)]], 0.8, 3);
        let json = serde_json::to_value(&moderation).unwrap_or_default();
        assert_eq!(json["provider"], "local");
        assert_eq!(json["decision"], "allowed");
        assert_eq!(json["model"]["sha256"], "ab");
        assert_eq!(json["labels"][0]["name"], "nsfw");
    }
}
