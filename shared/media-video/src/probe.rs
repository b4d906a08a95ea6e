//! Probing: what a video or audio file is, read from its container and stream headers without
//! decoding.

use ffmpeg_next::codec::packet::side_data::Type as SideDataType;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::stream::{Disposition, Stream};
use ffmpeg_next::media::Type as MediaType;
use ffmpeg_next::{Rational, ffi};
use media_core::{GpsPosition, MediaFormat};

use crate::ffi_util::{
    channel_layout_name, codec_name, codec_parameters, color_names, pixel_format_name_and_depth, profile_name,
};
use crate::input::{self, InputFile};
use crate::rotation::{clockwise_rotation_from_display_matrix, rotated_size};
use crate::source::VideoSource;
use crate::tags::{Tags, capture_tags, owned_tags};
use crate::{VideoError, VideoLimits};

/// The container of an input, as media-video names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Container {
    /// ISO base media: MP4, M4V, 3GP.
    Mp4,
    /// ISO base media with an audio-only brand (`M4A `, `M4B `, `M4P `): iTunes audio, audiobooks.
    M4a,
    /// Apple QuickTime.
    Mov,
    /// Matroska (`.mkv`, `.mka`) other than WebM.
    Matroska,
    /// WebM (Matroska profile).
    Webm,
    /// AVI (RIFF).
    Avi,
    /// MPEG transport stream.
    MpegTs,
    /// MP3 audio.
    Mp3,
    /// WAV audio.
    Wav,
    /// FLAC audio.
    Flac,
    /// Ogg (Vorbis, Opus, FLAC; Theora video is not decoded).
    Ogg,
    /// Raw AAC in ADTS frames (`.aac`).
    Aac,
}

impl Container {
    /// The container for FFmpeg's demuxer `format_name`, told apart within a demuxer by the sniffed
    /// magic bytes (MP4 from M4A and QuickTime, WebM from Matroska).
    fn from_demuxer(format_name: &str, sniffed: Option<MediaFormat>) -> Option<Container> {
        let demuxer = format_name.split(',').next().unwrap_or_default();
        Some(match demuxer {
            "mov" if sniffed == Some(MediaFormat::Mov) => Container::Mov,
            "mov" if sniffed == Some(MediaFormat::M4a) => Container::M4a,
            "mov" => Container::Mp4,
            "matroska" if sniffed == Some(MediaFormat::Webm) => Container::Webm,
            "matroska" => Container::Matroska,
            "avi" => Container::Avi,
            "mpegts" => Container::MpegTs,
            "mp3" => Container::Mp3,
            "wav" => Container::Wav,
            "flac" => Container::Flac,
            "ogg" => Container::Ogg,
            "aac" => Container::Aac,
            _ => return None,
        })
    }

    /// Whether the container is ISO base media (MP4, M4A or QuickTime).
    pub fn is_iso_bmff(self) -> bool {
        matches!(self, Container::Mp4 | Container::M4a | Container::Mov)
    }
}

/// How a video stream's brightness is encoded: recognises HDR by its transfer function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DynamicRange {
    /// Standard dynamic range (BT.709, BT.601, sRGB, or unspecified; also BT.2020 primaries with
    /// an SDR transfer, which are carried through with their own tags).
    Sdr,
    /// HDR with the PQ transfer (SMPTE ST 2084): HDR10, HDR10+, Dolby Vision profile 8.1.
    HdrPq,
    /// HDR with the hybrid log-gamma transfer (ARIB STD-B67), as iPhones record.
    HdrHlg,
}

impl DynamicRange {
    /// The one definition of HDR in media-video, used by the probe, the tone mapper and the
    /// renditions' colour tags alike: a PQ or HLG transfer. Primaries alone do not make HDR.
    pub fn of_transfer(transfer: ffmpeg_next::util::color::TransferCharacteristic) -> DynamicRange {
        use ffmpeg_next::util::color::TransferCharacteristic as Transfer;
        match transfer {
            Transfer::SMPTE2084 => DynamicRange::HdrPq,
            Transfer::ARIB_STD_B67 => DynamicRange::HdrHlg,
            _ => DynamicRange::Sdr,
        }
    }
}

/// One video stream. Cover art in audio files is not a video stream (see
/// [`Probe::attached_pictures`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoStream {
    /// The stream's index in the container.
    pub index: u32,
    /// FFmpeg's codec name (`h264`, `hevc`, `vp9`, `prores`).
    pub codec: String,
    /// The codec profile (`High`, `Main 10`), when the codec has named profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Stored width in pixels.
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
    /// Width as displayed: square pixels, after rotation.
    pub display_width: u32,
    /// Height as displayed: square pixels, after rotation.
    pub display_height: u32,
    /// Display aspect ratio as displayed, after rotation (`16:9`, `9:16`).
    pub display_aspect_ratio: String,
    /// Average frame rate in frames per second, when the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// FFmpeg's pixel format name (`yuv420p`, `yuv420p10le`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_format: Option<String>,
    /// Bits per luma sample (8, 10, 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<u8>,
    /// Clockwise rotation in degrees (0, 90, 180, 270) a player applies, from the display matrix.
    pub rotation: u16,
    /// Transfer characteristic (`bt709`, `smpte2084`, `arib-std-b67`), when specified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_transfer: Option<String>,
    /// Colour primaries (`bt709`, `bt2020`), when specified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_primaries: Option<String>,
    /// Colour matrix (`bt709`, `bt2020nc`), when specified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_space: Option<String>,
    /// SDR or which kind of HDR, from the transfer characteristic.
    pub dynamic_range: DynamicRange,
    /// The stream's bit rate in bits per second, when the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    /// The stream's duration in seconds, when the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Number of frames, when the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_count: Option<u64>,
}

/// One audio stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AudioStream {
    /// The stream's index in the container.
    pub index: u32,
    /// FFmpeg's codec name (`aac`, `opus`, `mp3`, `pcm_s16le`).
    pub codec: String,
    /// The codec profile (`LC`, `HE-AAC`), when the codec has named profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Number of channels.
    pub channels: u32,
    /// The channel layout as FFmpeg names it (`stereo`, `5.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_layout: Option<String>,
    /// Samples per second.
    pub sample_rate: u32,
    /// The stream's bit rate in bits per second, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    /// The stream's duration in seconds, when the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// The language tag (`eng`), when present and not `und`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Everything media-video reports about an input, read without decoding. Serialised as-is into
/// `metadata.json` and DynamoDB.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Probe {
    /// The container.
    pub container: Container,
    /// FFmpeg's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub format_name: String,
    /// Input size in bytes.
    pub bytes: u64,
    /// Duration in seconds, when the container declares or FFmpeg can estimate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Overall bit rate in bits per second, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    /// Number of streams of every kind.
    pub stream_count: u32,
    /// Video streams, the main one first (the default stream, else the largest).
    pub video: Vec<VideoStream>,
    /// Audio streams, the main one first (the default stream, else the first).
    pub audio: Vec<AudioStream>,
    /// Number of subtitle streams.
    pub subtitle_streams: u32,
    /// Number of data streams (timecode, GPS tracks, metadata) and attachments.
    pub data_streams: u32,
    /// Number of still pictures attached as cover art.
    pub attached_pictures: u32,
    /// When the clip was recorded, as the container says (`2024-05-01T12:00:00.000000Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// Where the clip was recorded, as ISO 6709 text (`+48.8583+002.2945+035.000/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_iso6709: Option<String>,
    /// [`location_iso6709`](Probe::location_iso6709) parsed, when it is a valid point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<GpsPosition>,
    /// Recording device maker, when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Recording device model, when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The title, from music tags (ID3, Vorbis comments, iTunes atoms) or a video's title tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The performing artist (or, failing that, the album artist), from music tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// The album, from music tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
}

impl Probe {
    /// The main video stream (what posters and renditions are made from), if any.
    pub fn main_video(&self) -> Option<&VideoStream> {
        self.video.first()
    }

    /// The main audio stream (what renditions carry), if any.
    pub fn main_audio(&self) -> Option<&AudioStream> {
        self.audio.first()
    }
}

/// Probes `source` (a path, or a [`VideoSource`]): opens it (file protocol or ranged reads, allowed
/// containers only), reads the stream headers, and checks `limits` before anything is decoded. On a
/// ranged source this reads the headers and a few packets, not the file: a few blocks of a
/// faststart MP4, plus the end of one with its index at the end.
///
/// Errors: `unsupported-format` for files that are not a container media-video reads,
/// `truncated-input`/`corrupt-input` for damaged ones, `too-large` past a limit, `io-error` (also
/// whenever a ranged reader failed).
pub fn probe(source: impl Into<VideoSource>, limits: &VideoLimits) -> Result<Probe, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| probe_source(source, limits))
}

fn probe_source(source: &VideoSource, limits: &VideoLimits) -> Result<Probe, VideoError> {
    let file = input::inspect(source)?;
    limits.check_input_bytes(file.bytes)?;
    let context = input::open(source, &file)?;
    let probe = describe(&context, &file)?;
    if probe.container.is_iso_bmff()
        && let Some(reason) = input::iso_bmff_truncation(source)
    {
        return Err(VideoError::TruncatedInput { reason });
    }
    limits.check_probe(&probe)?;
    Ok(probe)
}

/// Builds the [`Probe`] of an opened input.
pub(crate) fn describe(context: &Input, file: &InputFile) -> Result<Probe, VideoError> {
    let format_name = context.format().name().to_owned();
    let container = Container::from_demuxer(&format_name, file.sniffed).ok_or_else(|| {
        VideoError::UnsupportedFormat { reason: format!("FFmpeg demuxer {format_name} is not allowed") }
    })?;
    if context.nb_streams() == 0 {
        return Err(VideoError::CorruptInput {
            reason: format!("the {format_name} container has no streams"),
        });
    }
    let mut probe = Probe {
        container,
        format_name,
        bytes: file.bytes,
        duration_seconds: positive_seconds(context.duration(), Rational::new(1, ffi::AV_TIME_BASE)),
        bit_rate: u64::try_from(context.bit_rate()).ok().filter(|&rate| rate > 0),
        stream_count: context.nb_streams(),
        video: Vec::new(),
        audio: Vec::new(),
        subtitle_streams: 0,
        data_streams: 0,
        attached_pictures: 0,
        creation_time: None,
        location_iso6709: None,
        location: None,
        make: None,
        model: None,
        title: None,
        artist: None,
        album: None,
    };
    let mut video_preference = Vec::new();
    let mut audio_preference = Vec::new();
    for stream in context.streams() {
        let is_default = stream.disposition().contains(Disposition::DEFAULT);
        match stream.parameters().medium() {
            MediaType::Video if stream.disposition().contains(Disposition::ATTACHED_PIC) => {
                probe.attached_pictures += 1;
            }
            MediaType::Video => {
                let video = describe_video(&stream);
                video_preference.push((is_default, u64::from(video.width) * u64::from(video.height)));
                probe.video.push(video);
            }
            MediaType::Audio => {
                audio_preference.push(is_default);
                probe.audio.push(describe_audio(&stream));
            }
            MediaType::Subtitle => probe.subtitle_streams += 1,
            MediaType::Data | MediaType::Attachment | MediaType::Unknown => probe.data_streams += 1,
        }
    }
    move_to_front(&mut probe.video, &video_preference);
    move_to_front(&mut probe.audio, &audio_preference);
    if probe.duration_seconds.is_none() {
        probe.duration_seconds = probe
            .video
            .iter()
            .filter_map(|video| video.duration_seconds)
            .chain(probe.audio.iter().filter_map(|audio| audio.duration_seconds))
            .reduce(f64::max);
    }
    let dictionaries: Vec<Tags> = std::iter::once(owned_tags(context.metadata()))
        .chain(context.streams().map(|stream| owned_tags(stream.metadata())))
        .collect();
    let tags = capture_tags(&dictionaries);
    probe.creation_time = tags.creation_time;
    probe.location_iso6709 = tags.location_iso6709;
    probe.location = tags.location;
    probe.make = tags.make;
    probe.model = tags.model;
    probe.title = tags.title;
    probe.artist = tags.artist;
    probe.album = tags.album;
    Ok(probe)
}

/// Moves the most preferred entry (greatest key; the earliest among equals) to the front, keeping the
/// others in container order.
fn move_to_front<T, K: PartialOrd>(items: &mut Vec<T>, preference: &[K]) {
    let mut best = 0;
    for (index, key) in preference.iter().enumerate() {
        if preference.get(best).is_some_and(|best_key| key > best_key) {
            best = index;
        }
    }
    if best > 0 && best < items.len() {
        let item = items.remove(best);
        items.insert(0, item);
    }
}

/// A timestamp or duration in `time_base` units as seconds; `None` when unset or not positive.
pub(crate) fn positive_seconds(value: i64, time_base: Rational) -> Option<f64> {
    if value <= 0 || value == ffi::AV_NOPTS_VALUE || time_base.denominator() == 0 {
        return None;
    }
    let seconds = value as f64 * f64::from(time_base);
    (seconds.is_finite() && seconds > 0.0).then_some(seconds)
}

fn positive_u64(value: i64) -> Option<u64> {
    u64::try_from(value).ok().filter(|&value| value > 0)
}

fn describe_video(stream: &Stream<'_>) -> VideoStream {
    let parameters = codec_parameters(stream);
    let width = u32::try_from(parameters.width).unwrap_or(0);
    let height = u32::try_from(parameters.height).unwrap_or(0);
    let rotation = stream
        .side_data()
        .find(|side_data| side_data.kind() == SideDataType::DisplayMatrix)
        .map_or(0, |side_data| clockwise_rotation_from_display_matrix(side_data.data()));
    let sample_aspect = parameters.sample_aspect_ratio;
    let (sar_num, sar_den) = if sample_aspect.num > 0 && sample_aspect.den > 0 {
        (u64::from(sample_aspect.num.unsigned_abs()), u64::from(sample_aspect.den.unsigned_abs()))
    } else {
        (1, 1)
    };
    // Square pixels: widen or narrow the picture, keep its height, as FFmpeg's scaler does.
    let square_width =
        ((u64::from(width) * sar_num + sar_den / 2) / sar_den).clamp(1, u64::from(u32::MAX)) as u32;
    let (display_width, display_height) = rotated_size(square_width, height.max(1), rotation);
    let (aspect_w, aspect_h) = reduced(u64::from(width) * sar_num, u64::from(height) * sar_den);
    let (aspect_w, aspect_h) = if rotation % 180 == 90 { (aspect_h, aspect_w) } else { (aspect_w, aspect_h) };
    let frame_rate = [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|rate| rate.numerator() > 0 && rate.denominator() > 0)
        .map(|rate| (f64::from(rate) * 1000.0).round() / 1000.0);
    let (pixel_format, bit_depth) = match pixel_format_name_and_depth(parameters.format) {
        Some((name, depth)) => (Some(name), (depth > 0).then_some(depth)),
        None => (None, None),
    };
    let [color_transfer, color_primaries, color_space] = color_names(parameters);
    let dynamic_range = DynamicRange::of_transfer(ffmpeg_next::util::color::TransferCharacteristic::from(
        parameters.color_trc,
    ));
    VideoStream {
        index: stream.index() as u32,
        codec: codec_name(parameters.codec_id),
        profile: profile_name(parameters.codec_id, parameters.profile),
        width,
        height,
        display_width,
        display_height,
        display_aspect_ratio: format!("{aspect_w}:{aspect_h}"),
        frame_rate,
        pixel_format,
        bit_depth,
        rotation,
        color_transfer,
        color_primaries,
        color_space,
        dynamic_range,
        bit_rate: positive_u64(parameters.bit_rate),
        duration_seconds: positive_seconds(stream.duration(), stream.time_base()),
        frame_count: positive_u64(stream.frames()),
    }
}

fn describe_audio(stream: &Stream<'_>) -> AudioStream {
    let parameters = codec_parameters(stream);
    let language =
        stream.metadata().get("language").filter(|l| !l.is_empty() && *l != "und").map(str::to_owned);
    AudioStream {
        index: stream.index() as u32,
        codec: codec_name(parameters.codec_id),
        profile: profile_name(parameters.codec_id, parameters.profile),
        channels: u32::try_from(parameters.ch_layout.nb_channels).unwrap_or(0),
        channel_layout: channel_layout_name(&parameters.ch_layout),
        sample_rate: u32::try_from(parameters.sample_rate).unwrap_or(0),
        bit_rate: positive_u64(parameters.bit_rate),
        duration_seconds: positive_seconds(stream.duration(), stream.time_base()),
        language,
    }
}

/// `a:b` in lowest terms (`1:1` for zeros).
fn reduced(a: u64, b: u64) -> (u64, u64) {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    match gcd(a, b) {
        0 => (1, 1),
        divisor => (a / divisor, b / divisor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_from_demuxer_names_and_magic() {
        let mov = "mov,mp4,m4a,3gp,3g2,mj2";
        assert_eq!(Container::from_demuxer(mov, Some(MediaFormat::Mp4)), Some(Container::Mp4));
        assert_eq!(Container::from_demuxer(mov, Some(MediaFormat::Mov)), Some(Container::Mov));
        assert_eq!(Container::from_demuxer(mov, None), Some(Container::Mp4));
        assert_eq!(Container::from_demuxer(mov, Some(MediaFormat::M4a)), Some(Container::M4a));
        assert_eq!(Container::from_demuxer("aac", Some(MediaFormat::Aac)), Some(Container::Aac));
        assert_eq!(Container::from_demuxer("mp3", Some(MediaFormat::Mp3)), Some(Container::Mp3));
        assert_eq!(Container::from_demuxer("matroska,webm", Some(MediaFormat::Webm)), Some(Container::Webm));
        assert_eq!(Container::from_demuxer("matroska,webm", None), Some(Container::Matroska));
        assert_eq!(Container::from_demuxer("mpegts", Some(MediaFormat::MpegTs)), Some(Container::MpegTs));
        assert_eq!(Container::from_demuxer("hls", None), None);
        assert_eq!(Container::from_demuxer("image2", None), None);
    }

    #[test]
    fn the_preferred_stream_moves_first_and_the_rest_keep_their_order() {
        let mut items = vec!["a", "b", "c"];
        move_to_front(&mut items, &[(false, 10), (true, 5), (true, 50)]);
        assert_eq!(items, ["c", "a", "b"]);
        let mut items = vec!["a", "b"];
        move_to_front(&mut items, &[true, true]);
        assert_eq!(items, ["a", "b"]);
    }

    #[test]
    fn aspect_ratios_in_lowest_terms() {
        assert_eq!(reduced(1920, 1080), (16, 9));
        assert_eq!(reduced(720 * 8, 480 * 9), (4, 3));
        assert_eq!(reduced(0, 0), (1, 1));
    }

    #[test]
    fn seconds_ignore_unset_and_negative_values() {
        assert_eq!(positive_seconds(ffi::AV_NOPTS_VALUE, Rational::new(1, 1000)), None);
        assert_eq!(positive_seconds(-5, Rational::new(1, 1000)), None);
        assert_eq!(positive_seconds(2500, Rational::new(1, 1000)), Some(2.5));
        assert_eq!(positive_seconds(2500, Rational::new(1, 0)), None);
    }
}
