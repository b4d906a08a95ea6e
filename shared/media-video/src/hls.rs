//! HLS packaging helpers: RFC 8216 codec strings, reading the variant playlists FFmpeg's `hls` muxer
//! writes (to measure their bit rates), and writing the master playlist that lists them.
//!
//! The segments themselves come from remuxing the renditions' encoded packets (see
//! [`crate::transcode()`]); nothing here encodes.

use std::fmt::Write as _;
use std::path::Path;

use crate::VideoError;

/// The RFC 6381 codec string of an H.264 stream (`avc1.64001f`), from its encoder's extradata:
/// either an `avcC` record or Annex B parameter sets.
pub(crate) fn avc_codec_string(extradata: &[u8]) -> Option<String> {
    let profile_compat_level = if extradata.first() == Some(&1) {
        extradata.get(1..4)?
    } else {
        // Annex B: the three bytes after the header of the first SPS (NAL type 7).
        let sps_start = extradata.windows(3).enumerate().find_map(|(index, window)| {
            (window == [0, 0, 1] && extradata.get(index + 3).is_some_and(|header| header & 0x1F == 7))
                .then_some(index + 4)
        })?;
        extradata.get(sps_start..sps_start + 3)?
    };
    Some(format!(
        "avc1.{:02x}{:02x}{:02x}",
        profile_compat_level[0], profile_compat_level[1], profile_compat_level[2]
    ))
}

/// The RFC 6381 codec string of AAC-LC, the only audio media-video writes.
pub(crate) const AAC_LC_CODEC_STRING: &str = "mp4a.40.2";

/// One segment of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// `#EXTINF` duration in seconds.
    pub duration_seconds: f64,
    /// The URI, relative to the playlist.
    pub uri: String,
    /// An `#EXT-X-MAP` that appears before this segment, other than the first one (which is
    /// [`MediaPlaylist::init_uri`]): playlists joined from separately encoded parts may change it.
    pub map_uri: Option<String>,
}

/// What media-video needs from a variant playlist.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct MediaPlaylist {
    /// The `#EXT-X-MAP` initialisation segment (fMP4 only).
    pub init_uri: Option<String>,
    /// The media segments in order.
    pub segments: Vec<Segment>,
    /// Whether `#EXT-X-ENDLIST` closes it.
    pub ended: bool,
}

/// Parses a media playlist as the `hls` muxer writes it. Unknown tags are ignored.
pub(crate) fn parse_media_playlist(text: &str) -> Result<MediaPlaylist, String> {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    if lines.next() != Some("#EXTM3U") {
        return Err("missing #EXTM3U".into());
    }
    let mut playlist = MediaPlaylist::default();
    let mut pending_duration = None;
    let mut pending_map = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let duration = rest.split(',').next().unwrap_or_default();
            let duration: f64 = duration.parse().map_err(|_| format!("bad #EXTINF duration {duration:?}"))?;
            pending_duration = Some(duration);
        } else if let Some(rest) = line.strip_prefix("#EXT-X-MAP:") {
            if playlist.init_uri.is_none() {
                playlist.init_uri = quoted_attribute(rest, "URI");
            } else {
                pending_map = quoted_attribute(rest, "URI");
            }
        } else if line == "#EXT-X-ENDLIST" {
            playlist.ended = true;
        } else if !line.starts_with('#') {
            let duration_seconds =
                pending_duration.take().ok_or_else(|| format!("segment {line} has no #EXTINF"))?;
            let map_uri = pending_map.take();
            playlist.segments.push(Segment { duration_seconds, uri: line.to_owned(), map_uri });
        }
    }
    Ok(playlist)
}

/// The value of `NAME="value"` in an attribute list.
fn quoted_attribute(attributes: &str, name: &str) -> Option<String> {
    let start = attributes.find(&format!("{name}=\""))? + name.len() + 2;
    let length = attributes[start..].find('"')?;
    Some(attributes[start..start + length].to_owned())
}

/// Bit rates of a variant, measured from its segment files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeasuredBitRates {
    /// The highest bit rate of any segment (HLS `BANDWIDTH`), in bits per second.
    pub peak: u64,
    /// Total bits over total duration (HLS `AVERAGE-BANDWIDTH`).
    pub average: u64,
}

/// Measures a variant playlist at `playlist_path` from the sizes of its segments (the fMP4 init
/// segment counts towards the first). Fails when a segment is missing.
pub(crate) fn measure_bit_rates(playlist_path: &Path) -> Result<MeasuredBitRates, VideoError> {
    let directory = playlist_path.parent().unwrap_or(Path::new("."));
    measure_bit_rates_in(playlist_path, directory)
}

/// Like [`measure_bit_rates`], with the segments (and init segments) found in `directory` rather
/// than beside the playlist. Every `#EXT-X-MAP` counts towards the segment after it.
pub(crate) fn measure_bit_rates_in(
    playlist_path: &Path,
    directory: &Path,
) -> Result<MeasuredBitRates, VideoError> {
    let text =
        std::fs::read_to_string(playlist_path).map_err(|error| VideoError::io(playlist_path, error))?;
    let playlist = parse_media_playlist(&text)
        .map_err(|reason| VideoError::encode(format!("reading {}", playlist_path.display()), reason))?;
    let size_of = |uri: &str| -> Result<u64, VideoError> {
        let path = directory.join(uri);
        std::fs::metadata(&path).map(|metadata| metadata.len()).map_err(|error| VideoError::io(path, error))
    };
    let mut extra = match &playlist.init_uri {
        Some(uri) => size_of(uri)?,
        None => 0,
    };
    let (mut peak, mut total_bits, mut total_seconds) = (0u64, 0u64, 0f64);
    for segment in &playlist.segments {
        if let Some(uri) = &segment.map_uri {
            extra += size_of(uri)?;
        }
        let bits = (size_of(&segment.uri)? + std::mem::take(&mut extra)) * 8;
        total_bits += bits;
        total_seconds += segment.duration_seconds;
        // Segments shorter than a tenth of a second (a last sliver) would overstate the peak.
        let seconds = segment.duration_seconds.max(0.1);
        peak = peak.max((bits as f64 / seconds).ceil() as u64);
    }
    let average = if total_seconds > 0.0 { (total_bits as f64 / total_seconds).ceil() as u64 } else { 0 };
    Ok(MeasuredBitRates { peak, average })
}

/// One `#EXT-X-STREAM-INF` entry of a master playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variant {
    /// The variant playlist's URI relative to the master.
    pub uri: String,
    /// Bit rates measured from the segments.
    pub bit_rates: MeasuredBitRates,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// `CODECS`, e.g. `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
    /// Frames per second, when known.
    pub frame_rate: Option<f64>,
}

/// The text of a master playlist listing `variants` in the order given.
pub(crate) fn master_playlist(variants: &[Variant]) -> String {
    master_playlist_with_audio(variants, None)
}

/// An audio rendition that the variants of a master playlist share (`#EXT-X-MEDIA:TYPE=AUDIO`),
/// for video variants that carry no sound of their own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AudioGroup {
    /// `GROUP-ID`, which each variant names in `AUDIO`.
    pub group_id: String,
    /// `NAME`, shown by players that offer a choice.
    pub name: String,
    /// The audio media playlist's URI relative to the master.
    pub uri: String,
    /// `CHANNELS`: the number of channels.
    pub channels: u32,
    /// `LANGUAGE` (RFC 5646), when the source tags one.
    pub language: Option<String>,
}

/// The text of a master playlist listing `variants` in the order given, with `audio` as the
/// default (and only) audio rendition of every variant when given. The variants' bit rates and
/// codecs must already include the audio's.
pub(crate) fn master_playlist_with_audio(variants: &[Variant], audio: Option<&AudioGroup>) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if let Some(audio) = audio {
        let _ =
            write!(text, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{}\",NAME=\"{}\"", audio.group_id, audio.name);
        if let Some(language) = &audio.language {
            let _ = write!(text, ",LANGUAGE=\"{language}\"");
        }
        let _ = writeln!(
            text,
            ",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}\"",
            audio.channels, audio.uri
        );
    }
    for variant in variants {
        let _ = write!(
            text,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\"",
            variant.bit_rates.peak, variant.bit_rates.average, variant.width, variant.height, variant.codecs
        );
        if let Some(audio) = audio {
            let _ = write!(text, ",AUDIO=\"{}\"", audio.group_id);
        }
        if let Some(frame_rate) = variant.frame_rate.filter(|rate| rate.is_finite() && *rate > 0.0) {
            let _ = write!(text, ",FRAME-RATE={frame_rate:.3}");
        }
        let _ = write!(text, "\n{}\n", variant.uri);
    }
    text
}

/// One segment of a media playlist to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlaylistEntry {
    /// The init segment this segment needs (`#EXT-X-MAP`); written when it differs from the
    /// previous segment's.
    pub map_uri: String,
    /// `#EXTINF` duration in seconds.
    pub duration_seconds: f64,
    /// The URI, relative to the playlist.
    pub uri: String,
}

/// The text of a complete (VOD, ended) fMP4 media playlist of `entries`. `TARGETDURATION` is the
/// longest segment's duration (as written, to microseconds) rounded up.
pub(crate) fn vod_media_playlist(entries: &[PlaylistEntry]) -> String {
    let rounded = |seconds: f64| (seconds.max(0.0) * 1e6).round() / 1e6;
    let target =
        entries.iter().map(|entry| rounded(entry.duration_seconds)).fold(0.0f64, f64::max).ceil().max(1.0);
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    );
    let mut current_map: Option<&str> = None;
    for entry in entries {
        if current_map != Some(entry.map_uri.as_str()) {
            let _ = writeln!(text, "#EXT-X-MAP:URI=\"{}\"", entry.map_uri);
            current_map = Some(&entry.map_uri);
        }
        let _ = write!(text, "#EXTINF:{:.6},\n{}\n", rounded(entry.duration_seconds), entry.uri);
    }
    text.push_str("#EXT-X-ENDLIST\n");
    text
}

#[cfg(test)]
mod tests {
    use media_core::ErrorCode;

    use super::*;

    #[test]
    fn avc_codec_strings_from_annex_b_and_avcc() {
        // Annex B: start code, SPS header 0x67, High profile (0x64), constraints 0, level 3.1 (0x1f).
        let annex_b = [0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac, 0, 0, 0, 1, 0x68, 0xeb];
        assert_eq!(avc_codec_string(&annex_b).as_deref(), Some("avc1.64001f"));
        let avcc = [1, 0x4d, 0x40, 0x1e, 0xff, 0xe1];
        assert_eq!(avc_codec_string(&avcc).as_deref(), Some("avc1.4d401e"));
        assert_eq!(avc_codec_string(&[]), None);
        assert_eq!(avc_codec_string(&[0, 0, 1, 0x68, 1, 2, 3]), None);
    }

    const PLAYLIST: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n\
        #EXT-X-MAP:URI=\"720p_init.mp4\"\n#EXTINF:4.000000,\n720p_00000.m4s\n#EXTINF:1.250000,\n720p_00001.m4s\n\
        #EXT-X-ENDLIST\n";

    #[test]
    fn media_playlists_parse() {
        let playlist = parse_media_playlist(PLAYLIST).expect("parses");
        assert_eq!(playlist.init_uri.as_deref(), Some("720p_init.mp4"));
        assert!(playlist.ended);
        assert_eq!(
            playlist.segments,
            [
                Segment { duration_seconds: 4.0, uri: "720p_00000.m4s".into(), map_uri: None },
                Segment { duration_seconds: 1.25, uri: "720p_00001.m4s".into(), map_uri: None }
            ]
        );
        assert!(parse_media_playlist("not a playlist").is_err());
        assert!(parse_media_playlist("#EXTM3U\nsegment.ts\n").is_err());
    }

    #[test]
    fn bit_rates_come_from_segment_sizes() {
        let directory = tempfile::tempdir().expect("temp dir");
        std::fs::write(directory.path().join("720p.m3u8"), PLAYLIST).expect("write");
        std::fs::write(directory.path().join("720p_init.mp4"), vec![0; 1_000]).expect("write");
        std::fs::write(directory.path().join("720p_00000.m4s"), vec![0; 499_000]).expect("write");
        std::fs::write(directory.path().join("720p_00001.m4s"), vec![0; 250_000]).expect("write");
        let rates = measure_bit_rates(&directory.path().join("720p.m3u8")).expect("measures");
        // First segment: 500 000 bytes over 4 s = 1 Mb/s; second: 250 000 over 1.25 s = 1.6 Mb/s.
        assert_eq!(rates.peak, 1_600_000);
        assert_eq!(rates.average, (750_000.0 * 8.0 / 5.25f64).ceil() as u64);
        std::fs::remove_file(directory.path().join("720p_00001.m4s")).expect("remove");
        assert_eq!(
            measure_bit_rates(&directory.path().join("720p.m3u8")).expect_err("fails").code(),
            ErrorCode::IO_ERROR
        );
    }

    #[test]
    fn master_playlists_list_every_variant_with_bandwidth_resolution_and_codecs() {
        let variant = Variant {
            uri: "720p.m3u8".into(),
            bit_rates: MeasuredBitRates { peak: 2_000_000, average: 1_500_000 },
            width: 1280,
            height: 720,
            codecs: "avc1.64001f,mp4a.40.2".into(),
            frame_rate: Some(25.0),
        };
        let text = master_playlist(&[variant]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,RESOLUTION=1280x720,\
             CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=25.000\n720p.m3u8\n"
        );
    }

    #[test]
    fn vod_playlists_repeat_the_map_only_when_it_changes_and_round_the_target_up() {
        let entry = |map: &str, duration_seconds: f64, uri: &str| PlaylistEntry {
            map_uri: map.into(),
            duration_seconds,
            uri: uri.into(),
        };
        let text = vod_media_playlist(&[
            entry("a_init.mp4", 4.0, "a_0.m4s"),
            entry("a_init.mp4", 4.2, "a_1.m4s"),
            entry("b_init.mp4", 1.5, "b_0.m4s"),
        ]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:5\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"a_init.mp4\"\n\
             #EXTINF:4.000000,\na_0.m4s\n#EXTINF:4.200000,\na_1.m4s\n#EXT-X-MAP:URI=\"b_init.mp4\"\n\
             #EXTINF:1.500000,\nb_0.m4s\n#EXT-X-ENDLIST\n"
        );
        let parsed = parse_media_playlist(&text).expect("parses");
        assert_eq!(parsed.init_uri.as_deref(), Some("a_init.mp4"));
        assert_eq!(parsed.segments[2].map_uri.as_deref(), Some("b_init.mp4"));
        assert!(parsed.ended);
        // Float noise must not raise the target: 4.0000000001 s is written as 4.000000.
        assert!(vod_media_playlist(&[entry("i", 4.000_000_000_1, "s")]).contains("TARGETDURATION:4\n"));
    }

    #[test]
    fn master_playlists_with_an_audio_group_name_it_in_every_variant() {
        let variant = Variant {
            uri: "360p.m3u8".into(),
            bit_rates: MeasuredBitRates { peak: 900_000, average: 700_000 },
            width: 640,
            height: 360,
            codecs: "avc1.64001e,mp4a.40.2".into(),
            frame_rate: None,
        };
        let audio = AudioGroup {
            group_id: "audio".into(),
            name: "Audio".into(),
            uri: "audio.m3u8".into(),
            channels: 2,
            language: Some("en".into()),
        };
        assert_eq!(
            master_playlist_with_audio(&[variant], Some(&audio)),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Audio\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,\
             CHANNELS=\"2\",URI=\"audio.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=700000,RESOLUTION=640x360,\
             CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"audio\"\n360p.m3u8\n"
        );
    }
}
