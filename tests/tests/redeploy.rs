//! `cargo lambda deploy` on the deployed stack: one function's code replaced in place (the way a
//! user ships a fix to one function without redeploying the stack), and the function still
//! processes uploads with the configuration the template gave it. Runs after the other e2e tests
//! (`scripts/e2e.sh`), since a redeploy stops the function's running process.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{Stack, data, repo_root};
use pipeline::{AssetStatus, DerivativeRole};

/// The function's revision (a new one for every code or configuration update) and last update
/// status, from LocalStack's Lambda API (through the AWS CLI in the project's venv).
fn revision(function: &str) -> (String, String) {
    let output = Command::new(repo_root().join(".venv/bin/aws"))
        .args(["lambda", "get-function-configuration", "--function-name", function])
        .args(["--query", "[RevisionId, LastUpdateStatus]", "--output", "text"])
        .output()
        .expect("the AWS CLI of .venv runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut fields = text.split_whitespace().map(str::to_owned);
    (fields.next().unwrap_or_default(), fields.next().unwrap_or_default())
}

#[tokio::test]
async fn cargo_lambda_deploy_replaces_one_function_in_place_and_it_still_processes_uploads() {
    let stack = Stack::connect().await;
    let function = format!("{}-thumbnail", stack.name);
    let (before, _) = revision(&function);
    let lambda_dir = e2e::lambda_dir();

    let deployed = Command::new(repo_root().join("scripts/cargo-lambda"))
        .args(["deploy", "--endpoint-url", "http://127.0.0.1:4566", "--region", "us-east-1"])
        .args(["--lambda-dir".as_ref(), lambda_dir.as_os_str()])
        .args(["--binary-name", "thumbnail", &function])
        .current_dir(repo_root())
        .output()
        .expect("scripts/cargo-lambda runs");
    assert!(
        deployed.status.success(),
        "cargo lambda deploy failed: {}",
        String::from_utf8_lossy(&deployed.stderr)
    );

    // The update gives the function a new revision (the code itself is byte for byte the same: the
    // packaged zip is reproducible); LocalStack switches to it asynchronously.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (now, status) = revision(&function);
        if now != before && status == "Successful" {
            break;
        }
        assert!(Instant::now() < deadline, "{function} was never updated (revision {now}, status {status})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let key = stack.key("after-redeploy.jpg");
    let (_, id) = stack.upload(&key, data("media-core/tests/data/inputs/photo-camera.jpg")).await;
    // Ready means the redeployed function still found the stack's table and buckets, which only its
    // environment (set by the template, not by cargo-lambda) names.
    let asset = stack.wait_final(&id, Duration::from_secs(60)).await;
    assert_eq!(asset.status, AssetStatus::Ready, "{asset:#?}");
    let thumbnails: Vec<_> = asset.derivatives().filter(|d| d.role == DerivativeRole::Thumbnail).collect();
    assert!(!thumbnails.is_empty(), "{asset:#?}");
    for thumbnail in thumbnails {
        assert!(stack.get(stack.derivatives(), &thumbnail.key).await.is_some(), "{} missing", thumbnail.key);
    }
}
