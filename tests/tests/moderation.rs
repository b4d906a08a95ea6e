//! Moderation policy end to end: with the moderate function's threshold at 0 every image is
//! flagged; it still completes, its event is `Asset Flagged` and each derivative carries the S3 tag
//! `moderation=flagged`. Runs on its own after the other suites (`scripts/e2e.sh`): it changes the
//! moderate function's configuration, which restarts it, and sets it back at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use e2e::{Stack, data};
use pipeline::moderation::ModerationDecision;
use pipeline::{AssetStatus, JobKind, JobStatus};

/// Sets one variable of `function`'s environment (keeping the others) and waits until LocalStack
/// has applied the update.
async fn set_variable(lambda: &aws_sdk_lambda::Client, function: &str, name: &str, value: &str) {
    let current = lambda.get_function_configuration().function_name(function).send().await.expect("config");
    let mut variables: HashMap<String, String> =
        current.environment().and_then(|env| env.variables().cloned()).unwrap_or_default();
    variables.insert(name.to_owned(), value.to_owned());
    let environment = aws_sdk_lambda::types::Environment::builder().set_variables(Some(variables)).build();
    lambda
        .update_function_configuration()
        .function_name(function)
        .environment(environment)
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let config =
            lambda.get_function_configuration().function_name(function).send().await.expect("config");
        let applied = config
            .environment()
            .and_then(|env| env.variables())
            .is_some_and(|variables| variables.get(name).map(String::as_str) == Some(value));
        let successful = config.last_update_status().is_none_or(|status| status.as_str() == "Successful");
        if applied && successful {
            return;
        }
        assert!(Instant::now() < deadline, "{function}: {name}={value} not applied after 60 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn at_threshold_zero_an_image_is_flagged_announced_and_its_derivatives_tagged() {
    let stack = Stack::connect().await;
    let sdk = aws_adapters::sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function = format!("{}-moderate", stack.name);
    let deployed = stack.parameters.get("ModerationThreshold").cloned().unwrap_or_else(|| "0.8".into());

    // At the deployed threshold the same photo is allowed and its derivatives are left untagged.
    let (_, allowed) = stack.upload(&stack.key("allowed/photo.jpg"), data(PHOTO)).await;
    let asset = stack.wait_final(&allowed, Duration::from_secs(120)).await;
    assert_eq!(asset.moderation.as_ref().map(|m| m.decision), Some(ModerationDecision::Allowed));
    for key in asset.derivatives().map(|d| d.key.clone()) {
        assert!(tags(&stack, &key).await.is_empty(), "{key} of an allowed asset is tagged");
    }
    assert_eq!(
        stack.wait_events(&allowed, 1, Duration::from_secs(30)).await[0]["detail-type"],
        "Asset Ready"
    );

    set_variable(&lambda, &function, "MEDIAFLOW_MODERATION_THRESHOLD", "0").await;

    let key = stack.key("flagged/photo.jpg");
    let (_, id) = stack.upload(&key, data(PHOTO)).await;
    let asset = stack.wait_final(&id, Duration::from_secs(120)).await;
    set_variable(&lambda, &function, "MEDIAFLOW_MODERATION_THRESHOLD", &deployed).await;

    assert_eq!(asset.status, AssetStatus::Ready, "a flagged asset still completes: {asset:#?}");
    assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done));
    let moderation = asset.moderation.as_ref().expect("moderation record");
    assert_eq!((moderation.decision, moderation.threshold), (ModerationDecision::Flagged, 0.0));
    assert!(asset.jobs.contains_key(&JobKind::Moderate));

    let events = stack.wait_events(&id, 1, Duration::from_secs(30)).await;
    assert_eq!(events[0]["detail-type"], "Asset Flagged");
    assert_eq!(events[0]["detail"]["moderation"]["decision"], "flagged");

    let derivatives: Vec<String> = asset.derivatives().map(|d| d.key.clone()).collect();
    assert_eq!(derivatives.len(), 2, "two thumbnails");
    for key in &derivatives {
        assert_eq!(tags(&stack, key).await, [("moderation".to_owned(), "flagged".to_owned())], "{key}");
    }
}

const PHOTO: &str = "media-core/tests/data/inputs/photo-camera.jpg";

/// The S3 tags of a derivative.
async fn tags(stack: &Stack, key: &str) -> Vec<(String, String)> {
    let tagging =
        stack.s3.get_object_tagging().bucket(stack.derivatives()).key(key).send().await.expect("tagging");
    tagging.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()
}
