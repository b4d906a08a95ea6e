//! Container tags worth recording: when and where a clip was shot, and on what; what a piece of
//! music is called, and by whom.
//!
//! Phones write the capture tags under several names: QuickTime `©xyz`/`©day` (FFmpeg's `location`,
//! `creation_time`), Apple's `com.apple.quicktime.*` keys and Android's `com.android.*` keys. Music
//! tags arrive under FFmpeg's common names whatever the source (ID3 `TIT2`/`TPE1`/`TALB`, Vorbis
//! comments `TITLE`/`ARTIST`/`ALBUM` in FLAC and Ogg, iTunes `©nam`/`©ART`/`©alb`).

use ffmpeg_next::DictionaryRef;
use media_core::GpsPosition;

/// One metadata dictionary, copied out of FFmpeg.
pub(crate) type Tags = Vec<(String, String)>;

/// Copies a metadata dictionary.
pub(crate) fn owned_tags(dictionary: DictionaryRef<'_>) -> Tags {
    dictionary.iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect()
}

/// The tags media-video reports. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CaptureTags {
    pub creation_time: Option<String>,
    pub location_iso6709: Option<String>,
    pub location: Option<GpsPosition>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
}

/// Reads the tags from the container's metadata, then each stream's (first found wins).
pub(crate) fn capture_tags(dictionaries: &[Tags]) -> CaptureTags {
    let first = |keys: &[&str]| -> Option<String> {
        keys.iter().find_map(|wanted| {
            dictionaries.iter().flatten().find_map(|(key, value)| {
                let value = value.trim();
                (key.eq_ignore_ascii_case(wanted) && !value.is_empty()).then(|| value.to_owned())
            })
        })
    };
    let location_iso6709 = first(&["location", "com.apple.quicktime.location.ISO6709", "location-eng"]);
    CaptureTags {
        creation_time: first(&["creation_time", "com.apple.quicktime.creationdate", "date"]),
        location: location_iso6709.as_deref().and_then(parse_iso6709),
        location_iso6709,
        make: first(&["com.apple.quicktime.make", "make", "com.android.manufacturer"]),
        model: first(&["com.apple.quicktime.model", "model", "com.android.model"]),
        title: first(&["title"]),
        artist: first(&["artist", "album_artist"]),
        album: first(&["album"]),
    }
}

/// Parses an ISO 6709 point such as `+48.8583+002.2945+035.000/` (decimal degrees, the form phones
/// write) or `+4851.50+00217.67/` (degrees and minutes). `None` when it is not one, or out of range.
pub(crate) fn parse_iso6709(text: &str) -> Option<GpsPosition> {
    let body = text.trim().trim_end_matches('/');
    let body = body.split("CRS").next()?;
    let mut starts: Vec<usize> =
        body.char_indices().filter(|(_, c)| *c == '+' || *c == '-').map(|(index, _)| index).collect();
    if starts.first() != Some(&0) || !(2..=3).contains(&starts.len()) {
        return None;
    }
    starts.push(body.len());
    let parts: Vec<&str> = starts.windows(2).map(|pair| &body[pair[0]..pair[1]]).collect();
    let latitude = sexagesimal(parts[0], 2)?;
    let longitude = sexagesimal(parts[1], 3)?;
    let altitude_m = match parts.get(2) {
        Some(part) => Some(part.parse::<f64>().ok().filter(|value| value.is_finite())?),
        None => None,
    };
    ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)).then_some(GpsPosition {
        latitude,
        longitude,
        altitude_m,
    })
}

/// Reads `±DD[MM[SS]][.fff]` (latitude, `degree_digits` 2) or `±DDD[MM[SS]][.fff]` (longitude, 3).
fn sexagesimal(part: &str, degree_digits: usize) -> Option<f64> {
    let (sign, digits) = part.split_at(1);
    let sign = if sign == "-" { -1.0 } else { 1.0 };
    let integer_digits = digits.find('.').unwrap_or(digits.len());
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '.') || integer_digits < degree_digits {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    let degrees = match integer_digits - degree_digits {
        0 => value,
        2 => (value / 100.0).trunc() + (value % 100.0) / 60.0,
        4 => (value / 10_000.0).trunc() + ((value / 100.0).trunc() % 100.0) / 60.0 + (value % 100.0) / 3600.0,
        _ => return None,
    };
    Some(sign * degrees)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(latitude: f64, longitude: f64, altitude_m: Option<f64>) -> Option<GpsPosition> {
        Some(GpsPosition { latitude, longitude, altitude_m })
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn container_tags_win_over_stream_tags_and_apple_keys_are_read() {
        let container = tags(&[("creation_time", "2024-05-01T12:00:00.000000Z"), ("encoder", "Lavf")]);
        let stream = tags(&[
            ("creation_time", "1999-01-01T00:00:00Z"),
            ("com.apple.quicktime.location.ISO6709", "+37.7858-122.4064+010.000/"),
            ("com.apple.quicktime.make", "Apple"),
            ("com.apple.quicktime.model", " iPhone 15 "),
        ]);
        let found = capture_tags(&[container, stream]);
        assert_eq!(found.creation_time.as_deref(), Some("2024-05-01T12:00:00.000000Z"));
        assert_eq!(found.location_iso6709.as_deref(), Some("+37.7858-122.4064+010.000/"));
        assert_eq!(found.location, position(37.7858, -122.4064, Some(10.0)));
        assert_eq!(found.make.as_deref(), Some("Apple"));
        assert_eq!(found.model.as_deref(), Some("iPhone 15"));
        assert_eq!(capture_tags(&[]), CaptureTags::default());
    }

    #[test]
    fn music_tags_from_any_case_and_the_album_artist_as_a_fallback() {
        // Vorbis comments keep their upper-case names; FFmpeg's ID3 names are lower-case.
        let comments = tags(&[("TITLE", " Blue in Green "), ("ALBUM_ARTIST", "Miles Davis"), ("ALBUM", "")]);
        let found = capture_tags(&[comments]);
        assert_eq!(found.title.as_deref(), Some("Blue in Green"));
        assert_eq!(found.artist.as_deref(), Some("Miles Davis"));
        assert_eq!(found.album, None, "empty tags are no tags");
        let id3 = tags(&[("album_artist", "Various"), ("artist", "Bill Evans"), ("album", "Kind of Blue")]);
        let found = capture_tags(&[id3]);
        assert_eq!(found.artist.as_deref(), Some("Bill Evans"));
        assert_eq!(found.album.as_deref(), Some("Kind of Blue"));
    }

    #[test]
    fn decimal_degrees_as_phones_write_them() {
        assert_eq!(parse_iso6709("+48.8583+002.2945+035.000/"), position(48.8583, 2.2945, Some(35.0)));
        assert_eq!(parse_iso6709("+37.7858-122.4064/"), position(37.7858, -122.4064, None));
        assert_eq!(parse_iso6709("-33.8688+151.2093+012.5/"), position(-33.8688, 151.2093, Some(12.5)));
    }

    #[test]
    fn degrees_minutes_and_seconds() {
        let parsed = parse_iso6709("+4851.50+00217.67/").expect("parses");
        assert!((parsed.latitude - 48.858_333).abs() < 1e-5, "{parsed:?}");
        assert!((parsed.longitude - 2.294_5).abs() < 1e-5, "{parsed:?}");
        let parsed = parse_iso6709("-335130+1511233/").expect("parses");
        assert!((parsed.latitude + 33.858_333).abs() < 1e-5, "{parsed:?}");
    }

    #[test]
    fn garbage_and_out_of_range_values_are_not_positions() {
        for text in
            ["", "/", "48.85+2.29/", "+48.85/", "+95.0+002.0/", "+48.85+190.0/", "+4a.0+002.0/", "hello"]
        {
            assert_eq!(parse_iso6709(text), None, "{text}");
        }
    }
}
