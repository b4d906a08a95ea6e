//! The metadata job of a video or audio file: its probe (container, streams, rotation, HDR,
//! capture time and place) and the SHA-256 of its bytes, indexed for duplicate search.

use std::io::Read;
use std::path::Path;

use pipeline::job_support::{JobOutput, blocking, check_size, download_to_temp};
use pipeline::ports::JobMessage;
use pipeline::{JobError, Services};
use sha2::{Digest, Sha256};

use crate::{VideoSettings, job_error};

pub(crate) async fn run(
    services: &Services,
    settings: &VideoSettings,
    message: &JobMessage,
) -> Result<JobOutput, JobError> {
    check_size(message, settings.limits.max_input_bytes)?;
    let source = download_to_temp(services, message).await?;
    let limits = settings.limits;
    let (probe, sha256) = blocking(move || {
        let probe = media_video::probe(source.path(), &limits).map_err(job_error)?;
        let probe = serde_json::to_value(&probe)
            .map_err(|error| JobError::Task(format!("the probe does not serialise: {error}")))?;
        Ok((probe, sha256_of_file(source.path())?))
    })
    .await?;
    Ok(JobOutput::Done {
        derivatives: Vec::new(),
        metadata: Some(probe),
        sha256: Some(sha256),
        moderation: None,
    })
}

fn sha256_of_file(path: &Path) -> Result<String, JobError> {
    let mut file = std::fs::File::open(path).map_err(JobError::io("opening the downloaded video"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(JobError::io("reading the downloaded video"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}
