//! Pixel layout of the charts, as pure functions so that it can be tested: the legend column
//! beside the plot (never over the data), tick positions (whole numbers for counts), text
//! wrapping, and the placement of point labels without collisions.

/// A rectangle in backend pixels, `x0 <= x1`, `y0 <= y1` (y grows downward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Rect {
    pub fn new(x0: i32, y0: i32, w: i32, h: i32) -> Rect {
        Rect {
            x0,
            y0,
            x1: x0 + w,
            y1: y0 + h,
        }
    }

    /// Whether the two share any interior point.
    pub fn intersects(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    pub fn contains(&self, (x, y): (i32, i32)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }

    pub fn within(&self, outer: &Rect) -> bool {
        self.x0 >= outer.x0 && self.x1 <= outer.x1 && self.y0 >= outer.y0 && self.y1 <= outer.y1
    }

    /// The point of the rectangle nearest to `p` (where a leader line ends).
    pub fn nearest(&self, (x, y): (i32, i32)) -> (i32, i32) {
        (x.clamp(self.x0, self.x1), y.clamp(self.y0, self.y1))
    }
}

/// Width of the legend column at the right of a chart.
pub const LEGEND_WIDTH: u32 = 290;

/// Splits a chart of `width` pixels into the plot (left) and the legend column (right), as the
/// x ranges `(plot, legend)`: the plot's drawing area ends where the legend begins, so nothing
/// plotted can fall under the legend.
pub fn legend_column(width: u32) -> (std::ops::Range<i32>, std::ops::Range<i32>) {
    let split = width.saturating_sub(LEGEND_WIDTH) as i32;
    (0..split, split..width as i32)
}

/// Tick positions on `lo..=hi`: multiples of a round step (1, 2, 2.5 or 5 times a power of ten)
/// giving at most about `target` ticks; with `whole`, the step is a whole number (counts of
/// States).
pub fn ticks(lo: f64, hi: f64, target: usize, whole: bool) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![];
    }
    let rough = (hi - lo) / target.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let mut step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough * 0.999)
        .unwrap_or(10.0 * power);
    if whole {
        step = step.max(1.0).round();
        if step == 3.0 {
            step = 2.0;
        }
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Rounded so that 6 x 0.1 reads 0.6.
    (first..=last)
        .map(|k| (k as f64 * step * 1e10).round() / 1e10)
        .collect()
}

/// Decimals that show every tick of `ticks` apart (0 for whole numbers).
pub fn decimals(ticks: &[f64]) -> usize {
    (0..6)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ticks
                .iter()
                .all(|t| ((t * scale).round() - t * scale).abs() < 1e-6)
        })
        .unwrap_or(6)
}

/// A value with the fewest decimals (up to four) that keep it exact enough ("0.25", "2", "1e-05").
pub fn short(v: f64) -> String {
    for d in 0..=4 {
        let s = format!("{v:.d$}");
        if (s.parse::<f64>().unwrap_or(f64::NAN) - v).abs() <= 1e-9 * v.abs().max(1.0) {
            return s;
        }
    }
    if v.abs() >= 1e-3 {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

/// Breaks `text` into lines of at most `width` characters, at spaces (a longer word stands alone).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Where a label went: its box, and whether it stands away from its point (draw a leader line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub rect: Rect,
    pub leader: bool,
}

/// Places one label of size `sizes[i]` near each `anchors[i]`, greedily in the given order: the
/// first candidate position (right, left, above, below and the diagonals, at growing distances)
/// whose box lies within `bounds` and meets neither a label placed before nor an `obstacle`
/// (the plotted markers). Deterministic: the same input gives the same boxes. When no candidate
/// is free, the one overlapping least is taken.
pub fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(i32, i32)],
    obstacles: &[Rect],
    bounds: Rect,
) -> Vec<Placed> {
    let mut placed: Vec<Placed> = Vec::with_capacity(anchors.len());
    for (&(x, y), &(w, h)) in anchors.iter().zip(sizes) {
        let mut best: Option<(i64, Placed)> = None;
        'search: for (ring, r) in [7, 16, 28, 42, 60, 82, 110, 140].into_iter().enumerate() {
            let diagonal = r * 7 / 10;
            let candidates = [
                (x + r, y - h / 2),
                (x - r - w, y - h / 2),
                (x - w / 2, y - r - h),
                (x - w / 2, y + r),
                (x + diagonal, y - diagonal - h),
                (x + diagonal, y + diagonal),
                (x - diagonal - w, y - diagonal - h),
                (x - diagonal - w, y + diagonal),
            ];
            for (cx, cy) in candidates {
                let rect = Rect::new(cx, cy, w, h);
                if !rect.within(&bounds) {
                    continue;
                }
                let overlap: i64 = placed
                    .iter()
                    .map(|p| &p.rect)
                    .chain(obstacles)
                    .filter(|o| o.intersects(&rect))
                    .map(|o| {
                        let dx = (rect.x1.min(o.x1) - rect.x0.max(o.x0)) as i64;
                        let dy = (rect.y1.min(o.y1) - rect.y0.max(o.y0)) as i64;
                        dx * dy
                    })
                    .sum();
                let candidate = Placed {
                    rect,
                    leader: ring > 0,
                };
                if best.is_none_or(|(o, _)| overlap < o) {
                    best = Some((overlap, candidate));
                }
                if overlap == 0 {
                    break 'search;
                }
            }
        }
        placed.push(best.map_or(
            Placed {
                rect: Rect::new(x + 7, y - h / 2, w, h),
                leader: false,
            },
            |(_, p)| p,
        ));
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_crowded_points_never_overlap_each_other_or_a_marker() {
        // A cluster like the small RCPs of breadth_depth (a few pixels apart), and a pair at the
        // same point.
        let anchors = vec![
            (100, 100),
            (104, 98),
            (108, 103),
            (103, 110),
            (300, 200),
            (300, 200),
            (700, 120),
        ];
        let sizes = vec![
            (70, 14),
            (50, 14),
            (90, 14),
            (60, 14),
            (40, 14),
            (80, 14),
            (90, 14),
        ];
        let markers: Vec<Rect> = anchors
            .iter()
            .map(|&(x, y)| Rect::new(x - 6, y - 6, 12, 12))
            .collect();
        let bounds = Rect::new(60, 40, 680, 400);
        let placed = place_labels(&anchors, &sizes, &markers, bounds);
        assert_eq!(placed.len(), anchors.len());
        for (i, a) in placed.iter().enumerate() {
            assert!(a.rect.within(&bounds), "label {i} leaves the plot: {a:?}");
            assert_eq!(
                (a.rect.x1 - a.rect.x0, a.rect.y1 - a.rect.y0),
                sizes[i],
                "label {i} keeps its size"
            );
            for m in &markers {
                assert!(!a.rect.intersects(m), "label {i} covers a marker {m:?}");
            }
            for (j, b) in placed.iter().enumerate().skip(i + 1) {
                assert!(!a.rect.intersects(&b.rect), "labels {i} and {j} overlap");
            }
        }
        // The label at the right edge went left of its point, not out of the plot.
        assert!(placed[6].rect.x1 <= 700);
        assert_eq!(placed, place_labels(&anchors, &sizes, &markers, bounds));
    }

    #[test]
    fn ticks_of_counts_are_whole_numbers() {
        for (lo, hi) in [(0.0, 3.4), (141.2, 146.9), (0.0, 212.0), (5.5, 9.0)] {
            let t = ticks(lo, hi, 6, true);
            assert!(!t.is_empty(), "{lo}..{hi}");
            assert!(t.iter().all(|x| x.fract() == 0.0), "{lo}..{hi}: {t:?}");
            assert!(t.iter().all(|x| *x >= lo && *x <= hi));
            assert_eq!(decimals(&t), 0);
        }
        let t = ticks(0.45, 0.95, 6, false);
        assert_eq!(t, vec![0.5, 0.6, 0.7, 0.8, 0.9]);
        assert_eq!(decimals(&t), 1);
        assert!(ticks(0.0, 0.4, 6, false).iter().any(|x| x.fract() != 0.0));
    }

    #[test]
    fn the_legend_column_is_beside_the_plot() {
        let (plot, legend) = legend_column(1200);
        assert_eq!(plot.end, legend.start);
        assert_eq!(legend.end, 1200);
        assert_eq!(legend.len() as u32, LEGEND_WIDTH);
    }

    #[test]
    fn words_wrap_at_spaces() {
        assert_eq!(
            wrap("Firewalls between services and enforcement", 20),
            vec!["Firewalls between", "services and", "enforcement"]
        );
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(1.0 / 3.0), "0.3333");
    }
}
