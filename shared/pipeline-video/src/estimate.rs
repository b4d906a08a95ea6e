//! How long a transcode will take, to decide before starting whether it fits in the Lambda time
//! left or goes to worker mode.

use media_video::{Probe, Rung};

/// Estimated seconds to transcode `probe`'s clip to `ladder` at `pixels_per_second` (output pixels
/// summed over the renditions, per second of wall time).
pub fn estimate_transcode_seconds(probe: &Probe, ladder: &[Rung], pixels_per_second: f64) -> f64 {
    let duration = probe.duration_seconds.unwrap_or(0.0);
    let Some(video) = probe.main_video() else {
        return duration / 50.0; // audio only: AAC encodes at ~50x realtime
    };
    let fps = video.frame_rate.unwrap_or(30.0).clamp(1.0, 240.0);
    let (width, height) = (f64::from(video.display_width.max(1)), f64::from(video.display_height.max(1)));
    let short_edge = width.min(height);
    let pixels_per_frame: f64 = ladder
        .iter()
        .map(|rung| f64::from(rung.height).min(short_edge))
        .map(|edge| {
            let scale = edge / short_edge;
            width * scale * height * scale
        })
        .sum();
    duration * fps * pixels_per_frame / pixels_per_second.max(1.0)
}
