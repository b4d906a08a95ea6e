//! Signs that a JPEG was changed after its camera wrote it.
//!
//! A camera's embedded preview is a copy of the picture as it was taken. Editors that rewrite the
//! main image often carry the rest of the file over untouched (Exiv2-based tools keep the MPF
//! trailer, for one), so after a crop, a retouch or a colour grade the preview may show something
//! the main image no longer does. Nothing in the file proves it unedited; these are the traces
//! editors usually leave, and any one of them means the preview is not used.

use exif::Tag;

use crate::exif_fields::ExifData;
use crate::jpeg_segments::HeaderSegments;

/// Names found in the `Software` tag or the XMP packet of files that went through an editor or a
/// metadata tool (compared ignoring case). Camera firmware names itself with the model and a
/// version ("ILCE-6000 v1.00", "Ver.1.00"), which none of these match.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "camera raw",
    "gimp",
    "darktable",
    "rawtherapee",
    "capture one",
    "affinity",
    "snapseed",
    "exiv2",
    "exiftool",
    "digikam",
    "pixelmator",
    "luminar",
    "acdsee",
    "dxo",
    "paint.net",
    "paintshop",
    "picasa",
    "aperture",
    "iphoto",
    "photoscape",
    "polarr",
    "shotwell",
    "gthumb",
    "xnview",
    "irfanview",
    "imagemagick",
    "graphicsmagick",
    "windows photo",
];

/// XMP properties that only an editor or a metadata tool writes: a modification date, a history
/// of saves, and the Photoshop and Camera Raw (Lightroom) namespaces. `xap:` is the prefix older
/// Adobe software used for `xmp:`.
const XMP_EDIT_MARKS: &[&str] = &[
    "xmp:modifydate",
    "xap:modifydate",
    "xmp:metadatadate",
    "xap:metadatadate",
    "xmpmm:history",
    "photoshop:",
    "crs:",
];

/// What starts an APP1 segment holding an XMP packet, standard or extended.
const XMP_SIGNATURES: &[&[u8]] =
    &[b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0"];

/// One trace of editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EditSign {
    /// No EXIF at all: no capture record to check the file against, so its history is unknown.
    NoExif,
    /// `DateTime` (when the file was last written) differs from `DateTimeOriginal` (when the
    /// photo was taken); cameras write both at once.
    DateTimeChanged {
        /// `DateTime`.
        modified: String,
        /// `DateTimeOriginal`.
        original: String,
    },
    /// The `Software` tag names an editor.
    EditorSoftware(String),
    /// The XMP packet has an editing property or names an editor (the text found).
    XmpEditMark(&'static str),
}

impl std::fmt::Display for EditSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditSign::NoExif => f.write_str("no EXIF to check the history against"),
            EditSign::DateTimeChanged { modified, original } => {
                write!(f, "DateTime {modified} differs from DateTimeOriginal {original}")
            }
            EditSign::EditorSoftware(software) => write!(f, "Software is {software:?}"),
            EditSign::XmpEditMark(mark) => write!(f, "XMP has {mark:?}"),
        }
    }
}

/// The first sign of editing in a JPEG with this `header` and `exif`, or `None` when there is none.
pub(crate) fn first_edit_sign(header: &HeaderSegments<'_>, exif: &ExifData) -> Option<EditSign> {
    if !exif.is_present() {
        return Some(EditSign::NoExif);
    }
    if let (Some(modified), Some(original)) = (exif.text(Tag::DateTime), exif.text(Tag::DateTimeOriginal))
        && modified != original
    {
        return Some(EditSign::DateTimeChanged { modified, original });
    }
    if let Some(software) = exif.text(Tag::Software)
        && editor_in(software.as_bytes()).is_some()
    {
        return Some(EditSign::EditorSoftware(software));
    }
    header
        .segments
        .iter()
        .filter(|segment| segment.marker == 0xE1)
        .filter(|segment| XMP_SIGNATURES.iter().any(|signature| segment.payload.starts_with(signature)))
        .find_map(|segment| xmp_edit_mark(segment.payload))
        .map(EditSign::XmpEditMark)
}

/// The first editing property or editor name in an XMP packet, ignoring case.
fn xmp_edit_mark(xmp: &[u8]) -> Option<&'static str> {
    XMP_EDIT_MARKS.iter().copied().find(|mark| contains_ignoring_case(xmp, mark)).or_else(|| editor_in(xmp))
}

/// The first name in [`EDITORS`] that `text` contains, ignoring case.
fn editor_in(text: &[u8]) -> Option<&'static str> {
    EDITORS.iter().copied().find(|editor| contains_ignoring_case(text, editor))
}

/// Whether `haystack` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_ignoring_case(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && haystack.windows(needle.len()).any(|window| {
            window.iter().zip(needle).all(|(&byte, &wanted)| byte.to_ascii_lowercase() == wanted)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_are_recognised_and_camera_firmware_is_not() {
        for software in [
            "Adobe Photoshop 7.0",
            "Adobe Photoshop Lightroom Classic 12.1 (Windows)",
            "GIMP 2.10",
            "darktable 4.2.1",
            "Exiv2 0.27",
        ] {
            assert!(editor_in(software.as_bytes()).is_some(), "{software}");
        }
        for firmware in [
            "ILCE-6000 v1.00",
            "Ver.1.00",
            "Digital Camera FinePix REAL 3D W3 Ver1.20",
            "00204",
            "HDR+ 1.0.621982163zd",
            "18.6.2",
        ] {
            assert_eq!(editor_in(firmware.as_bytes()), None, "{firmware}");
        }
    }

    #[test]
    fn xmp_edit_marks_are_found_in_attributes_and_elements() {
        let exiv2 = br#"<x:xmpmeta x:xmptk="XMP Core 4.4.0-Exiv2"><rdf:Description xmp:ModifyDate="2015-02-13T20:46:51-06:00"/>"#;
        assert_eq!(xmp_edit_mark(exiv2), Some("xmp:modifydate"));
        assert_eq!(xmp_edit_mark(b"<xmpMM:History><rdf:Seq/></xmpMM:History>"), Some("xmpmm:history"));
        assert_eq!(xmp_edit_mark(b"<x:xmpmeta x:xmptk=\"XMP Core 4.4.0-Exiv2\"/>"), Some("exiv2"));
        assert_eq!(xmp_edit_mark(b"<rdf:Description GCamera:MicroVideo=\"1\"/>"), None);
        assert!(!contains_ignoring_case(b"", "crs:"));
        assert!(!contains_ignoring_case(b"crs:", ""));
    }
}
