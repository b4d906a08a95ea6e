//! What a transcode is asked to produce, and what it reports back.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use crate::{VideoError, VideoLimits};

/// An x264 speed/quality preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum X264Preset {
    /// Fastest, largest files.
    Ultrafast,
    /// Faster than `veryfast`.
    Superfast,
    /// The default: a good speed/size balance for on-upload transcoding.
    #[default]
    Veryfast,
    /// Slower than `veryfast`, smaller files.
    Faster,
    /// Slower still.
    Fast,
    /// x264's own default.
    Medium,
    /// Smaller files for about twice `medium`'s time.
    Slow,
    /// Smaller still, for about twice `slow`'s time.
    Slower,
    /// Slowest, smallest files.
    Veryslow,
}

impl X264Preset {
    /// Every preset, fastest first.
    pub const ALL: [X264Preset; 9] = [
        X264Preset::Ultrafast,
        X264Preset::Superfast,
        X264Preset::Veryfast,
        X264Preset::Faster,
        X264Preset::Fast,
        X264Preset::Medium,
        X264Preset::Slow,
        X264Preset::Slower,
        X264Preset::Veryslow,
    ];

    /// x264's name of the preset (`veryfast`).
    pub fn name(self) -> &'static str {
        match self {
            X264Preset::Ultrafast => "ultrafast",
            X264Preset::Superfast => "superfast",
            X264Preset::Veryfast => "veryfast",
            X264Preset::Faster => "faster",
            X264Preset::Fast => "fast",
            X264Preset::Medium => "medium",
            X264Preset::Slow => "slow",
            X264Preset::Slower => "slower",
            X264Preset::Veryslow => "veryslow",
        }
    }
}

impl FromStr for X264Preset {
    type Err = VideoError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        X264Preset::ALL
            .into_iter()
            .find(|preset| preset.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| VideoError::InvalidOptions(format!("unknown x264 preset {text:?}")))
    }
}

/// One rung of the rendition ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rung {
    /// The short edge of the picture: 720 is 1280×720 landscape or 720×1280 portrait.
    pub height: u32,
    /// Peak bit rate cap for CRF (x264 `maxrate`), bits per second.
    pub max_bit_rate: u32,
    /// Rate-control buffer (x264 `bufsize`), bits.
    pub buffer_size: u32,
}

impl Rung {
    /// A rung capped at `max_bit_rate` with a buffer of two seconds of it.
    pub const fn new(height: u32, max_bit_rate: u32) -> Rung {
        Rung { height, max_bit_rate, buffer_size: max_bit_rate.saturating_mul(2) }
    }

    /// A rung of `height` with a bit-rate cap that follows the default ladder: its cap when the
    /// height is on it, otherwise 720p's cap scaled by the pixel count.
    pub fn for_height(height: u32) -> Rung {
        default_ladder().into_iter().find(|rung| rung.height == height).unwrap_or_else(|| {
            let scale = (f64::from(height) / 720.0).powi(2);
            Rung::new(height, (3_500_000.0 * scale).clamp(200_000.0, 40_000_000.0) as u32)
        })
    }
}

/// The default ladder: 1080p capped at 6 Mb/s, 720p at 3.5 Mb/s, 480p at 1.5 Mb/s.
pub fn default_ladder() -> Vec<Rung> {
    vec![Rung::new(1080, 6_000_000), Rung::new(720, 3_500_000), Rung::new(480, 1_500_000)]
}

/// The container of HLS segments. Both are remuxed from the same encoded packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HlsSegmentFormat {
    /// Fragmented MP4 (CMAF-style) segments with an init segment: less overhead.
    #[default]
    Fmp4,
    /// MPEG-TS segments: the widest player support (old set-top boxes and Android versions).
    MpegTs,
}

/// What to produce and where. Build with [`TranscodeOptions::new`] and change fields as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscodeOptions {
    /// The renditions to make (see [`Rung`]); capped at the source's size.
    pub ladder: Vec<Rung>,
    /// x264 preset (default `veryfast`).
    pub preset: X264Preset,
    /// x264 constant rate factor, 0–51 (default 23).
    pub crf: u8,
    /// AAC bit rate in bits per second (default 128 000).
    pub audio_bit_rate: u32,
    /// Seconds between keyframes, forced on the same grid in every rendition (default 2).
    pub keyframe_interval_seconds: u32,
    /// Whether to write HLS playlists and segments as well as the MP4 files (default on). Inputs
    /// without video get their `.m4a` alone: one small file that every browser plays progressively.
    pub hls: bool,
    /// HLS segment container (default fMP4).
    pub hls_segment_format: HlsSegmentFormat,
    /// Target HLS segment duration in seconds (default 4; segments end at a keyframe).
    pub hls_segment_seconds: u32,
    /// Where the outputs go: `<label>.mp4`, `hls/master.m3u8` and the variants, `audio.m4a`.
    pub out_dir: PathBuf,
    /// Where temporary files go (a private folder inside it, removed afterwards). With HLS, its path
    /// must not contain `%`, which FFmpeg's HLS muxer reads as a pattern.
    pub work_dir: PathBuf,
    /// When to give up with `deadline-exceeded`, removing partial outputs.
    pub deadline: Option<Instant>,
    /// Limits enforced again while decoding (for durations a container does not declare).
    pub limits: VideoLimits,
}

impl TranscodeOptions {
    /// The defaults, writing to `out_dir` with temporary files in `work_dir`.
    pub fn new(out_dir: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> TranscodeOptions {
        TranscodeOptions {
            ladder: default_ladder(),
            preset: X264Preset::default(),
            crf: 23,
            audio_bit_rate: 128_000,
            keyframe_interval_seconds: 2,
            hls: true,
            hls_segment_format: HlsSegmentFormat::default(),
            hls_segment_seconds: 4,
            out_dir: out_dir.into(),
            work_dir: work_dir.into(),
            deadline: None,
            limits: VideoLimits::default(),
        }
    }

    /// Rejects options no transcode could satisfy.
    pub fn validate(&self) -> Result<(), VideoError> {
        let invalid = |reason: String| Err(VideoError::InvalidOptions(reason));
        if self.ladder.is_empty() || self.ladder.len() > 8 {
            return invalid(format!("the ladder has {} rungs, 1 to 8 are allowed", self.ladder.len()));
        }
        if let Some(rung) = self.ladder.iter().find(|rung| !(16..=8192).contains(&rung.height)) {
            return invalid(format!("rung height {} is not within 16-8192", rung.height));
        }
        if let Some(rung) =
            self.ladder.iter().find(|rung| rung.max_bit_rate < 10_000 || rung.buffer_size < 10_000)
        {
            return invalid(format!("rung {} needs a maxrate and bufsize of at least 10 kb/s", rung.height));
        }
        if self.crf > 51 {
            return invalid(format!("CRF {} is over 51", self.crf));
        }
        if !(16_000..=512_000).contains(&self.audio_bit_rate) {
            return invalid(format!("audio bit rate {} is not within 16-512 kb/s", self.audio_bit_rate));
        }
        if !(1..=10).contains(&self.keyframe_interval_seconds) {
            return invalid(format!(
                "keyframe interval {} s is not within 1-10 s",
                self.keyframe_interval_seconds
            ));
        }
        if !(1..=60).contains(&self.hls_segment_seconds) {
            return invalid(format!(
                "HLS segment duration {} s is not within 1-60 s",
                self.hls_segment_seconds
            ));
        }
        Ok(())
    }
}

/// One video rendition written to the output directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rendition {
    /// `720p`: the short edge (also the file name, `720p.mp4`).
    pub label: String,
    /// Width in pixels (even, upright).
    pub width: u32,
    /// Height in pixels (even, upright).
    pub height: u32,
    /// The faststart MP4.
    pub path: PathBuf,
    /// Size of the MP4 in bytes.
    pub bytes: u64,
    /// Average bit rate of the whole MP4 (video, audio and container) in bits per second.
    pub bit_rate: u64,
    /// RFC 6381 codecs (`avc1.64001f,mp4a.40.2`).
    pub codecs: String,
    /// The rendition's HLS variant playlist, when HLS was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hls_playlist: Option<PathBuf>,
}

/// The AAC file made from an audio-only input.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AudioRendition {
    /// The faststart `.m4a`.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Average bit rate in bits per second.
    pub bit_rate: u64,
}

/// Everything a transcode wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TranscodeOutputs {
    /// Video renditions, largest first (empty for audio-only inputs).
    pub renditions: Vec<Rendition>,
    /// `hls/master.m3u8`, when HLS was asked for and the input has video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hls_master: Option<PathBuf>,
    /// `audio.m4a`, for audio-only inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_only: Option<AudioRendition>,
    /// Duration of the outputs in seconds.
    pub duration_seconds: f64,
}

#[cfg(test)]
mod tests {
    use media_core::ErrorCode;

    use super::*;

    #[test]
    fn presets_parse_by_name() {
        assert_eq!("veryfast".parse::<X264Preset>().ok(), Some(X264Preset::Veryfast));
        assert_eq!("Medium".parse::<X264Preset>().ok(), Some(X264Preset::Medium));
        assert_eq!(
            "warp".parse::<X264Preset>().map_err(|error| error.code()),
            Err(ErrorCode::INVALID_OPTIONS)
        );
        assert!(
            X264Preset::ALL.iter().all(|preset| preset.name().parse::<X264Preset>().ok() == Some(*preset))
        );
    }

    #[test]
    fn defaults_match_the_issue_and_validate() {
        let options = TranscodeOptions::new("/out", "/tmp");
        assert_eq!(options.ladder.iter().map(|rung| rung.height).collect::<Vec<_>>(), [1080, 720, 480]);
        assert_eq!(options.preset, X264Preset::Veryfast);
        assert_eq!(options.keyframe_interval_seconds, 2);
        assert!(options.validate().is_ok());
    }

    #[test]
    fn impossible_options_are_refused() {
        let base = TranscodeOptions::new("/out", "/tmp");
        let cases = [
            TranscodeOptions { ladder: vec![], ..base.clone() },
            TranscodeOptions { ladder: vec![Rung::new(8, 1_000_000)], ..base.clone() },
            TranscodeOptions { ladder: vec![Rung::new(720, 0)], ..base.clone() },
            TranscodeOptions { crf: 52, ..base.clone() },
            TranscodeOptions { audio_bit_rate: 1_000, ..base.clone() },
            TranscodeOptions { keyframe_interval_seconds: 0, ..base.clone() },
            TranscodeOptions { hls_segment_seconds: 0, ..base.clone() },
        ];
        for options in cases {
            assert_eq!(
                options.validate().map_err(|error| error.code()),
                Err(ErrorCode::INVALID_OPTIONS),
                "{options:?}"
            );
        }
    }
}
