//! Cutting a fragmented MP4 (as [`Muxer::fragmented_mp4`](crate::transcode::mux::Muxer) writes
//! it) into an HLS init segment and one chunk file per fragment.

use std::path::Path;

use crate::VideoError;
use crate::transcode::mux::ChunkTimes;
use crate::transcode::segmented::ChunkOutput;

/// An init segment and the fragments of a fragmented MP4, as bytes.
#[derive(Debug, PartialEq)]
pub(super) struct Fragments {
    /// Everything before the first `moof`: `ftyp` and `moov`.
    pub init: Vec<u8>,
    /// Each `moof` with the `mdat` (and any other boxes) up to the next `moof`; a trailing `mfra`
    /// index is left out.
    pub fragments: Vec<Vec<u8>>,
}

/// Splits `bytes` at its top-level `moof` boxes.
pub(super) fn split_fragments(bytes: &[u8]) -> Result<Fragments, String> {
    let mut boxes = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let header = bytes.get(offset..offset + 8).ok_or("a box header is cut off")?;
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => bytes.len() - offset,
            1 => {
                let large = bytes.get(offset + 8..offset + 16).ok_or("a box header is cut off")?;
                usize::try_from(u64::from_be_bytes(large.try_into().map_err(|_| "bad box size")?))
                    .map_err(|_| "a box is too large")?
            }
            size => size as usize,
        };
        if size < 8 || offset + size > bytes.len() {
            return Err(format!("box '{}' has a bad size {size}", String::from_utf8_lossy(&kind)));
        }
        boxes.push((kind, offset, size));
        offset += size;
    }
    let first_fragment = boxes.iter().position(|(kind, _, _)| kind == b"moof").ok_or("no moof box")?;
    let init_end = boxes[first_fragment].1;
    let mut fragments: Vec<Vec<u8>> = Vec::new();
    for (kind, offset, size) in &boxes[first_fragment..] {
        let bytes = &bytes[*offset..offset + size];
        match kind {
            b"moof" => fragments.push(bytes.to_vec()),
            b"mfra" => {}
            _ => fragments.last_mut().ok_or("no moof box")?.extend_from_slice(bytes),
        }
    }
    Ok(Fragments { init: bytes[..init_end].to_vec(), fragments })
}

/// Reads the fragmented MP4 at `path` (then removes it) and writes its init segment to
/// `hls_dir/<init_name>` and each fragment to `hls_dir/<chunk_name(n)>`, described with the
/// durations `times` gives (fragment starts and the stream's end, shifted timestamps).
pub(super) fn write_chunks(
    path: &Path,
    times: &ChunkTimes,
    hls_dir: &Path,
    init_name: &str,
    chunk_name: &dyn Fn(usize) -> String,
) -> Result<Vec<ChunkOutput>, VideoError> {
    let bytes = std::fs::read(path).map_err(|error| VideoError::io(path, error))?;
    let fragments = split_fragments(&bytes)
        .map_err(|reason| VideoError::encode(format!("splitting {}", path.display()), reason))?;
    if fragments.fragments.len() != times.starts.len() {
        return Err(VideoError::encode(
            format!("splitting {}", path.display()),
            format!("{} fragments for {} chunks", fragments.fragments.len(), times.starts.len()),
        ));
    }
    let init_path = hls_dir.join(init_name);
    std::fs::write(&init_path, &fragments.init).map_err(|error| VideoError::io(&init_path, error))?;
    let seconds = |ticks: i64| ticks as f64 * f64::from(times.time_base);
    let mut chunks = Vec::with_capacity(fragments.fragments.len());
    for (index, fragment) in fragments.fragments.iter().enumerate() {
        let start = times.starts[index];
        let end = times.starts.get(index + 1).copied().unwrap_or(times.end);
        let uri = chunk_name(index);
        let chunk_path = hls_dir.join(&uri);
        std::fs::write(&chunk_path, fragment).map_err(|error| VideoError::io(&chunk_path, error))?;
        chunks.push(ChunkOutput {
            uri,
            duration_seconds: seconds(end - start).max(0.0),
            bytes: fragment.len() as u64,
        });
    }
    std::fs::remove_file(path).map_err(|error| VideoError::io(path, error))?;
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso_box(kind: &[u8; 4], payload: usize) -> Vec<u8> {
        let mut bytes = ((payload + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.resize(payload + 8, 7);
        bytes
    }

    #[test]
    fn fragmented_files_split_at_each_moof_without_the_trailing_index() {
        let (ftyp, moov) = (iso_box(b"ftyp", 16), iso_box(b"moov", 40));
        let (moof, mdat) = (iso_box(b"moof", 24), iso_box(b"mdat", 100));
        let file =
            [&ftyp, &moov, &moof, &mdat, &moof, &mdat, &iso_box(b"mfra", 8)].map(|b| b.as_slice()).concat();
        let split = split_fragments(&file).expect("splits");
        assert_eq!(split.init, [ftyp, moov].concat());
        assert_eq!(split.fragments, vec![[moof.clone(), mdat.clone()].concat(); 2]);
        assert!(split_fragments(&file[..file.len() - 3]).is_err());
        assert!(split_fragments(&[iso_box(b"ftyp", 8), iso_box(b"moov", 8)].concat()).is_err());
    }
}
