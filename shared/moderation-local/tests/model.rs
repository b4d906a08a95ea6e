//! open_nsfw on real photos: tract agrees with onnxruntime on the same tensors, the model really
//! runs (scores differ from photo to photo), ordinary photos are allowed, and our preprocessing
//! matches Pillow's reference one. Needs the model, the photos and the onnxruntime venv (see
//! tests/common): `make test` fetches them; missing, these tests fail and name the script.

mod common;

use std::collections::BTreeMap;

use moderation_local::{INPUT_LEN, preprocess};
use pipeline::moderation::{Classifier, ModerationSettings};

/// tract and onnxruntime may order float sums differently, nothing more.
const RUNTIME_TOLERANCE: f32 = 1e-4;

#[test]
fn tract_agrees_with_onnxruntime_on_every_photo() {
    let model = common::model();
    let photos = common::photos();
    assert!(photos.len() >= 10, "only {} photos", photos.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ours = BTreeMap::new();
    for (name, photo) in &photos {
        let input = preprocess(photo).expect("preprocess");
        common::write_f32(&dir.path().join(format!("{name}.f32")), &input);
        ours.insert(name.clone(), model.score(&input).expect("score"));
    }
    let model_path = moderation_local::model_path_from_env();
    let theirs = common::scores(&common::reference(&[
        "score".as_ref(),
        model_path.as_os_str(),
        dir.path().as_os_str(),
    ]));
    assert_eq!(theirs.len(), photos.len(), "onnxruntime scored {theirs:?}");
    let mut worst = 0f32;
    for (name, onnxruntime) in &theirs {
        let tract = ours[name];
        let diff = (tract - onnxruntime).abs();
        eprintln!("{name:>12}  tract {tract:.6}  onnxruntime {onnxruntime:.6}  |diff| {diff:.2e}");
        assert!(diff <= RUNTIME_TOLERANCE, "{name}: tract {tract} vs onnxruntime {onnxruntime}");
        worst = worst.max(diff);
    }
    eprintln!("max |tract - onnxruntime| = {worst:.2e} over {} photos", theirs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_photos_get_different_scores_and_are_all_allowed() {
    let classifier = moderation_local::LocalClassifier::new(std::sync::Arc::new(common::model()));
    assert_eq!(classifier.model().sha256.as_deref(), Some(moderation_local::MODEL_SHA256));
    let threshold = ModerationSettings::default().threshold;
    let mut scores = Vec::new();
    for (name, photo) in common::photos() {
        let labels = classifier.classify(photo).await.expect("classify");
        assert_eq!(labels.len(), 1, "{name}: {labels:?}");
        assert_eq!(labels[0].name, "nsfw");
        let score = labels[0].confidence;
        eprintln!("{name:>12}  nsfw {score:.4}");
        assert!(f64::from(score) < threshold, "{name}, an ordinary photo, is flagged: {score}");
        scores.push(score);
    }
    let min = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut distinct = scores.clone();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    // A model that ignored its input (or a preprocessing that fed it a constant) would give one
    // score; open_nsfw's scores on these photos span from ~0.001 to several hundredths.
    assert!(distinct.len() == scores.len(), "repeated scores: {scores:?}");
    assert!(max - min > 0.01, "scores barely differ: {scores:?}");
    assert!(max / min.max(1e-9) > 5.0, "scores barely differ: {scores:?}");
}

#[test]
fn our_preprocessing_matches_pillows() {
    let model = common::model();
    let photos = common::photos();
    let dir = tempfile::tempdir().expect("temp dir");
    let photo_dir =
        std::env::var_os("MEDIAFLOW_MODERATION_PHOTOS").map(std::path::PathBuf::from).unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/mediaflow/moderation-photos")
        });
    common::reference(&["pil".as_ref(), photo_dir.as_os_str(), dir.path().as_os_str()]);
    let (mut worst_mean, mut worst_score) = (0f32, 0f32);
    for (name, photo) in &photos {
        let ours = preprocess(photo).expect("preprocess");
        let pillow = common::read_f32(&dir.path().join(format!("{name}.f32")));
        assert_eq!(pillow.len(), INPUT_LEN, "{name}");
        let mean = ours.iter().zip(&pillow).map(|(a, b)| (a - b).abs()).sum::<f32>() / INPUT_LEN as f32;
        let max = ours.iter().zip(&pillow).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let (score_ours, score_pillow) =
            (model.score(&ours).expect("score"), model.score(&pillow).expect("score"));
        let score_diff = (score_ours - score_pillow).abs();
        eprintln!(
            "{name:>12}  mean |px diff| {mean:.3}  max {max:.0}  nsfw ours {score_ours:.5} pillow {score_pillow:.5}"
        );
        worst_mean = worst_mean.max(mean);
        worst_score = worst_score.max(score_diff);
    }
    eprintln!("worst mean |px diff| {worst_mean:.3}, worst |score diff| {worst_score:.2e}");
    assert!(worst_mean < MAX_MEAN_PIXEL_DIFF, "preprocessing drifted from Pillow's: {worst_mean}");
    assert!(worst_score < MAX_SCORE_DIFF, "scores drifted from Pillow-preprocessed ones: {worst_score}");
}

/// Measured on the 17 photos: a mean |pixel difference| of 0.28 to 1.23 levels (a maximum of 28 on
/// a few pixels: fast_image_resize and Pillow round the bilinear filter slightly differently, and
/// the JPEG round trip turns a one-level difference into a different quantised block), and nsfw
/// scores within 2.6e-3 of the Pillow-preprocessed ones. The bounds leave some margin above that.
const MAX_MEAN_PIXEL_DIFF: f32 = 2.0;
const MAX_SCORE_DIFF: f32 = 0.01;
