//! The EXIF fields mediaflow reports, read with `kamadak-exif` from any container it understands
//! (JPEG APP1, TIFF, PNG eXIf, WebP EXIF, HEIF).

use std::io::Cursor;

use exif::{Exif, Field, In, Tag, Value};

use crate::MediaFormat;

/// Camera and capture facts from EXIF. Every field is optional: phones, cameras and editors each
/// write a different subset.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExifSummary {
    /// Camera maker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Camera model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Lens model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens_model: Option<String>,
    /// When the photo was taken, ISO 8601 (`2019-05-04T12:34:56`, with `+02:00` when EXIF has the offset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_time_original: Option<String>,
    /// Exposure time in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure_time_s: Option<f64>,
    /// Aperture as an f-number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_number: Option<f64>,
    /// ISO speed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso: Option<u32>,
    /// Focal length in millimetres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focal_length_mm: Option<f64>,
    /// Where the photo was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<GpsPosition>,
}

/// A GPS position in decimal degrees (south and west negative) and metres.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpsPosition {
    /// Latitude, -90 to 90.
    pub latitude: f64,
    /// Longitude, -180 to 180.
    pub longitude: f64,
    /// Altitude above sea level in metres (negative below).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
}

/// Parsed EXIF of one input. Malformed EXIF is treated as absent: it must not fail the image.
#[derive(Default)]
pub(crate) struct ExifData(Option<Exif>);

impl ExifData {
    /// Reads the EXIF block of `bytes`, an image in `format`, if any.
    pub(crate) fn read(bytes: &[u8], format: MediaFormat) -> ExifData {
        let reader = exif::Reader::new();
        let container = match format {
            MediaFormat::Jpeg => crate::jpeg_segments::header_only(bytes),
            _ => bytes,
        };
        match reader.read_from_container(&mut Cursor::new(container)) {
            Ok(exif) => ExifData(Some(exif)),
            // A WebP EXIF chunk or PNG eXIf chunk holds a bare TIFF structure, but some writers put
            // JPEG's `Exif\0\0` header in front of it (exiftool and browsers read those too).
            Err(_) => ExifData(
                chunk_exif(bytes, format)
                    .and_then(|block| block.strip_prefix(b"Exif\0\0").map(<[u8]>::to_vec))
                    .and_then(|tiff| reader.read_raw(tiff).ok()),
            ),
        }
    }

    /// Parses an EXIF block already taken out of its container (a TIFF structure).
    pub(crate) fn from_tiff(tiff: Vec<u8>) -> ExifData {
        ExifData(exif::Reader::new().read_raw(tiff).ok())
    }

    /// The EXIF orientation, 1–8; 1 when absent or invalid.
    pub(crate) fn orientation(&self) -> u8 {
        self.declared_orientation().unwrap_or(1)
    }

    /// The EXIF orientation when the block declares a valid one: unlike [`orientation`](Self::orientation),
    /// tells "upright" from "not said" (an embedded preview that says nothing shares its main image's).
    pub(crate) fn declared_orientation(&self) -> Option<u8> {
        self.field(Tag::Orientation)
            .and_then(|field| field.value.get_uint(0))
            .filter(|value| (1..=8).contains(value))
            .map(|value| value as u8)
    }

    /// Whether the input had an EXIF block that parsed.
    pub(crate) fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// The fields we report; `None` when the input has none of them.
    pub(crate) fn summary(&self) -> Option<ExifSummary> {
        self.0.as_ref()?;
        let summary = ExifSummary {
            make: self.text(Tag::Make),
            model: self.text(Tag::Model),
            lens_model: self.text(Tag::LensModel),
            date_time_original: self.date_time_original(),
            exposure_time_s: self.rational(Tag::ExposureTime, 0),
            f_number: self.rational(Tag::FNumber, 0),
            iso: self.field(Tag::PhotographicSensitivity).and_then(|field| field.value.get_uint(0)),
            focal_length_mm: self.rational(Tag::FocalLength, 0),
            gps: self.gps(),
        };
        (summary != ExifSummary::default()).then_some(summary)
    }

    fn field(&self, tag: Tag) -> Option<&Field> {
        self.0.as_ref()?.get_field(tag, In::PRIMARY)
    }

    /// An ASCII field of the primary image, trimmed; `None` when absent, empty or not text.
    pub(crate) fn text(&self, tag: Tag) -> Option<String> {
        match &self.field(tag)?.value {
            Value::Ascii(parts) => {
                let text = String::from_utf8_lossy(parts.first()?);
                let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                (!text.is_empty()).then(|| text.to_string())
            }
            _ => None,
        }
    }

    fn rational(&self, tag: Tag, index: usize) -> Option<f64> {
        let value = match &self.field(tag)?.value {
            Value::Rational(values) => values.get(index)?.to_f64(),
            Value::SRational(values) => values.get(index)?.to_f64(),
            _ => return None,
        };
        value.is_finite().then_some(value)
    }

    fn date_time_original(&self) -> Option<String> {
        let raw = match &self.field(Tag::DateTimeOriginal)?.value {
            Value::Ascii(parts) => parts.first()?.clone(),
            _ => return None,
        };
        let mut date_time = exif::DateTime::from_ascii(&raw).ok()?;
        if let Some(Value::Ascii(parts)) = self.field(Tag::OffsetTimeOriginal).map(|field| &field.value)
            && let Some(offset) = parts.first()
        {
            // An unparseable offset just leaves the time local.
            let _ = date_time.parse_offset(offset);
        }
        let mut text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date_time.year,
            date_time.month,
            date_time.day,
            date_time.hour,
            date_time.minute,
            date_time.second
        );
        if let Some(offset_minutes) = date_time.offset {
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let minutes = offset_minutes.unsigned_abs();
            text.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
        Some(text)
    }

    fn gps(&self) -> Option<GpsPosition> {
        let degrees = |tag: Tag, reference: Tag, negative: &str| -> Option<f64> {
            let value = self.rational(tag, 0)?
                + self.rational(tag, 1).unwrap_or(0.0) / 60.0
                + self.rational(tag, 2).unwrap_or(0.0) / 3600.0;
            let negative = self.text(reference).is_some_and(|r| r.eq_ignore_ascii_case(negative));
            Some(if negative { -value } else { value })
        };
        let latitude = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S")?;
        let longitude = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W")?;
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return None;
        }
        let below_sea_level =
            self.field(Tag::GPSAltitudeRef).and_then(|field| field.value.get_uint(0)) == Some(1);
        let altitude_m = self.rational(Tag::GPSAltitude, 0).map(|m| if below_sea_level { -m } else { m });
        Some(GpsPosition { latitude, longitude, altitude_m })
    }
}

/// The raw EXIF chunk of a WebP or PNG, as stored.
fn chunk_exif(bytes: &[u8], format: MediaFormat) -> Option<Vec<u8>> {
    match format {
        MediaFormat::Webp => image_webp::WebPDecoder::new(Cursor::new(bytes)).ok()?.exif_metadata().ok()?,
        MediaFormat::Png => {
            let reader = png::Decoder::new(Cursor::new(bytes)).read_info().ok()?;
            reader.info().exif_metadata.as_deref().map(<[u8]>::to_vec)
        }
        _ => None,
    }
}
