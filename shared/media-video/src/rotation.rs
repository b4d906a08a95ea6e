//! Rotation: reading a stream's display matrix, and turning decoded pixels upright.
//!
//! Phones store portrait video as landscape pixels plus a display matrix that players apply. Not
//! every player does, so media-video rotates the pixels themselves (posters and renditions) and
//! writes no display matrix.

use ffmpeg_next::ffi;

/// The clockwise rotation, in degrees (0, 90, 180 or 270), that shows the stored pixels upright, from
/// a display matrix as FFmpeg stores it (nine native-endian `i32`, 16.16 and 2.30 fixed point).
/// Mirroring and angles that are not a multiple of 90° are ignored, as the `ffmpeg` command does.
pub(crate) fn clockwise_rotation_from_display_matrix(bytes: &[u8]) -> u16 {
    let Some(matrix) = display_matrix(bytes) else { return 0 };
    // SAFETY: `av_display_rotation_get` reads exactly nine `i32`, which `matrix` holds.
    let counterclockwise = unsafe { ffi::av_display_rotation_get(matrix.as_ptr()) };
    clockwise_from_counterclockwise(counterclockwise)
}

fn display_matrix(bytes: &[u8]) -> Option<[i32; 9]> {
    let mut matrix = [0i32; 9];
    let values = bytes.get(..36)?.chunks_exact(4);
    for (value, chunk) in matrix.iter_mut().zip(values) {
        *value = i32::from_ne_bytes(chunk.try_into().ok()?);
    }
    Some(matrix)
}

/// Snaps FFmpeg's counter-clockwise angle to the clockwise quarter turn a player applies.
fn clockwise_from_counterclockwise(counterclockwise: f64) -> u16 {
    if !counterclockwise.is_finite() {
        return 0;
    }
    let clockwise = (-counterclockwise.round()).rem_euclid(360.0);
    [0.0, 90.0, 180.0, 270.0, 360.0]
        .into_iter()
        .find(|quarter| (clockwise - quarter).abs() < 1.0)
        .map_or(0, |quarter| (quarter as u16) % 360)
}

/// The size of a `width`×`height` picture after rotating it clockwise by `degrees`.
pub(crate) fn rotated_size(width: u32, height: u32, degrees: u16) -> (u32, u32) {
    if degrees == 90 || degrees == 270 { (height, width) } else { (width, height) }
}

/// Rotates one plane of `width`×`height` pixels of `N` bytes each clockwise by `degrees` (0, 90,
/// 180 or 270) from `source` into `target`. Strides are in bytes. Works in square tiles so that both
/// the reads and the writes stay in cache.
///
/// Returns `false`, touching nothing, when a buffer is too small for the sizes given.
pub(crate) fn rotate_plane<const N: usize>(
    source: &[u8],
    source_stride: usize,
    width: usize,
    height: usize,
    target: &mut [u8],
    target_stride: usize,
    degrees: u16,
) -> bool {
    const TILE: usize = 32;
    let (target_width, target_height) = match degrees {
        90 | 270 => (height, width),
        _ => (width, height),
    };
    let fits = |buffer: usize, stride: usize, w: usize, h: usize| {
        w == 0 || h == 0 || (stride >= w * N && buffer >= (h - 1) * stride + w * N)
    };
    if !fits(source.len(), source_stride, width, height)
        || !fits(target.len(), target_stride, target_width, target_height)
    {
        return false;
    }
    for tile_y in (0..height).step_by(TILE) {
        for tile_x in (0..width).step_by(TILE) {
            for y in tile_y..(tile_y + TILE).min(height) {
                let row = &source[y * source_stride..];
                for x in tile_x..(tile_x + TILE).min(width) {
                    let (to_x, to_y) = match degrees {
                        90 => (height - 1 - y, x),
                        180 => (width - 1 - x, height - 1 - y),
                        270 => (y, width - 1 - x),
                        _ => (x, y),
                    };
                    let to = to_y * target_stride + to_x * N;
                    target[to..to + N].copy_from_slice(&row[x * N..x * N + N]);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A display matrix as FFmpeg writes it for a picture to be shown turned `clockwise` degrees.
    fn matrix_for(clockwise: f64) -> Vec<u8> {
        let mut matrix = [0i32; 9];
        // SAFETY: `av_display_rotation_set` writes exactly nine `i32`.
        unsafe { ffi::av_display_rotation_set(matrix.as_mut_ptr(), clockwise) };
        matrix.iter().flat_map(|value| value.to_ne_bytes()).collect()
    }

    #[test]
    fn display_matrices_give_clockwise_quarter_turns() {
        // A phone held upright records a matrix FFmpeg reads as -90° counter-clockwise: 90° clockwise.
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(90.0)), 90);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(270.0)), 270);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(-90.0)), 270);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(180.0)), 180);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(0.0)), 0);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(89.6)), 90);
        assert_eq!(clockwise_rotation_from_display_matrix(&matrix_for(45.0)), 0);
        assert_eq!(clockwise_rotation_from_display_matrix(&[0; 36]), 0);
        assert_eq!(clockwise_rotation_from_display_matrix(&[1, 2, 3]), 0);
    }

    /// A 3×2 plane: a b c / d e f.
    const PLANE: [u8; 6] = *b"abcdef";

    fn rotated(degrees: u16) -> Vec<u8> {
        let mut target = vec![0u8; 6];
        let (target_width, _) = rotated_size(3, 2, degrees);
        assert!(rotate_plane::<1>(&PLANE, 3, 3, 2, &mut target, target_width as usize, degrees));
        target
    }

    #[test]
    fn quarter_turns_move_pixels_where_a_player_shows_them() {
        assert_eq!(rotated(0), b"abcdef");
        // Clockwise: the left column (a, d) becomes the top row, read bottom to top.
        assert_eq!(rotated(90), b"daebfc");
        assert_eq!(rotated(180), b"fedcba");
        assert_eq!(rotated(270), b"cfbead");
    }

    #[test]
    fn buffers_that_are_too_small_are_refused() {
        let mut target = vec![0u8; 5];
        assert!(!rotate_plane::<1>(&PLANE, 3, 3, 2, &mut target, 2, 90));
        assert!(!rotate_plane::<1>(&PLANE[..5], 3, 3, 2, &mut [0u8; 6], 2, 90));
    }

    proptest! {
        #[test]
        fn four_quarter_turns_are_the_identity_and_180_is_two_90s(
            width in 1usize..70, height in 1usize..70, seed in any::<u64>(),
        ) {
            let source: Vec<u8> = (0..width * height * 4)
                .map(|i| (seed.wrapping_mul(i as u64 + 1) >> 7) as u8)
                .collect();
            let turn = |pixels: &[u8], w: usize, h: usize, degrees: u16| {
                let (tw, th) = rotated_size(w as u32, h as u32, degrees);
                let mut out = vec![0u8; tw as usize * th as usize * 4];
                prop_assert!(rotate_plane::<4>(pixels, w * 4, w, h, &mut out, tw as usize * 4, degrees));
                Ok((out, tw as usize, th as usize))
            };
            let (once, w1, h1) = turn(&source, width, height, 90)?;
            let (twice, w2, h2) = turn(&once, w1, h1, 90)?;
            let (half, _, _) = turn(&source, width, height, 180)?;
            prop_assert_eq!(&twice, &half);
            let (thrice, w3, h3) = turn(&twice, w2, h2, 90)?;
            let (full, _, _) = turn(&thrice, w3, h3, 90)?;
            prop_assert_eq!(full, source);
        }
    }
}
