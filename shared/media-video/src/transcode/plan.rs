//! The rendition ladder applied to one source: which sizes to encode, never upscaling.

use crate::transcode::Rung;

/// One rendition to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenditionPlan {
    /// `720p`: the short edge, the way phones and players name sizes.
    pub label: String,
    /// Output width, even, upright.
    pub width: u32,
    /// Output height, even, upright.
    pub height: u32,
    /// The rung's peak bit rate cap, bits per second.
    pub max_bit_rate: u32,
    /// The rung's VBV buffer, bits.
    pub buffer_size: u32,
}

/// The renditions of a `display_width`×`display_height` (upright, square-pixel) source for `ladder`.
///
/// A rung is the short edge of the picture (720 is 1280×720 landscape, 720×1280 portrait). Rungs
/// above the source are capped to the source's short edge, and capped rungs that coincide collapse
/// into one (keeping the highest rung's bit rate caps), so a source below the lowest rung yields one
/// rendition at its own size. Dimensions are even (4:2:0 needs it), never larger than the source,
/// and keep the aspect ratio within a pixel. Returns nothing for sources under 2 pixels or an empty
/// ladder.
pub(crate) fn plan_renditions(
    display_width: u32,
    display_height: u32,
    ladder: &[Rung],
) -> Vec<RenditionPlan> {
    let (source_short, source_long) = (display_width.min(display_height), display_width.max(display_height));
    if source_short < 2 {
        return Vec::new();
    }
    let landscape = display_width >= display_height;
    let mut rungs: Vec<&Rung> = ladder.iter().collect();
    rungs.sort_by_key(|rung| std::cmp::Reverse(rung.height));
    let mut plans: Vec<RenditionPlan> = Vec::new();
    for rung in rungs {
        let short = even_floor(rung.height.min(source_short));
        if short < 2 || plans.iter().any(|plan| plan.width.min(plan.height) == short) {
            continue;
        }
        let exact_long = f64::from(short) * f64::from(source_long) / f64::from(source_short);
        let long = ((exact_long / 2.0).round() as u32 * 2).clamp(2, even_floor(source_long).max(2));
        let (width, height) = if landscape { (long, short) } else { (short, long) };
        plans.push(RenditionPlan {
            label: format!("{short}p"),
            width,
            height,
            max_bit_rate: rung.max_bit_rate,
            buffer_size: rung.buffer_size,
        });
    }
    plans
}

fn even_floor(value: u32) -> u32 {
    value & !1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::default_ladder;
    use proptest::prelude::*;

    fn sizes(width: u32, height: u32) -> Vec<(String, u32, u32)> {
        plan_renditions(width, height, &default_ladder())
            .into_iter()
            .map(|plan| (plan.label, plan.width, plan.height))
            .collect()
    }

    #[test]
    fn a_1080p_source_gets_the_whole_ladder() {
        assert_eq!(
            sizes(1920, 1080),
            [("1080p".into(), 1920, 1080), ("720p".into(), 1280, 720), ("480p".into(), 854, 480)]
        );
    }

    #[test]
    fn portrait_sources_are_laddered_by_their_short_edge() {
        assert_eq!(
            sizes(1080, 1920),
            [("1080p".into(), 1080, 1920), ("720p".into(), 720, 1280), ("480p".into(), 480, 854)]
        );
    }

    #[test]
    fn rungs_above_the_source_are_capped_and_merged_never_upscaled() {
        assert_eq!(sizes(1280, 720), [("720p".into(), 1280, 720), ("480p".into(), 854, 480)]);
        assert_eq!(
            sizes(1600, 900),
            [("900p".into(), 1600, 900), ("720p".into(), 1280, 720), ("480p".into(), 854, 480)]
        );
        // Below the lowest rung: one rendition at the source's own (even) size.
        assert_eq!(sizes(321, 241), [("240p".into(), 320, 240)]);
        assert_eq!(sizes(240, 320), [("240p".into(), 240, 320)]);
    }

    #[test]
    fn degenerate_sources_and_ladders_give_nothing() {
        assert!(sizes(1, 1080).is_empty());
        assert!(plan_renditions(1920, 1080, &[]).is_empty());
    }

    proptest! {
        #[test]
        fn renditions_are_even_never_upscaled_and_keep_aspect(
            width in 2u32..8_000, height in 2u32..8_000,
            // Rung heights as TranscodeOptions::validate admits them (16 and up): a rung under 2
            // pixels plans nothing, which validation rules out before planning.
            rungs in proptest::collection::vec(16u32..3_000, 1..6),
        ) {
            let ladder: Vec<Rung> = rungs.iter().map(|&height| Rung::new(height, 1_000_000)).collect();
            let plans = plan_renditions(width, height, &ladder);
            prop_assert!(!plans.is_empty());
            prop_assert!(plans.len() <= ladder.len());
            for plan in &plans {
                prop_assert!(plan.width % 2 == 0 && plan.height % 2 == 0, "{plan:?}");
                prop_assert!(plan.width >= 2 && plan.height >= 2, "{plan:?}");
                prop_assert!(plan.width <= width && plan.height <= height, "{plan:?} from {width}x{height}");
                let exact_width = f64::from(plan.height) * f64::from(width) / f64::from(height);
                let exact_height = f64::from(plan.width) * f64::from(height) / f64::from(width);
                let off = (f64::from(plan.width) - exact_width).abs().min((f64::from(plan.height) - exact_height).abs());
                prop_assert!(off <= 1.0 + 1e-9, "{plan:?} from {width}x{height}: off by {off}");
            }
            let mut labels: Vec<&str> = plans.iter().map(|plan| plan.label.as_str()).collect();
            labels.dedup();
            prop_assert_eq!(labels.len(), plans.len());
        }
    }
}
