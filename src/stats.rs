//! Statistics across replications: mean, standard deviation, quantiles and the 95% confidence
//! interval of the mean. Pure functions over slices, each reduced in index order on one thread,
//! so results do not depend on the thread count.

/// Summary of one quantity across replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub q05: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub q95: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Summarises the finite values of `values` (NaN marks "not observed" and is skipped); orders a
/// copy in `scratch` as far as the quantiles need. `None` when no value is finite.
pub fn summarize(values: &[f64], scratch: &mut Vec<f64>) -> Option<Summary> {
    let [summary] = summarize_columns([values], std::array::from_mut(scratch));
    summary
}

/// [`summarize`] of `G` columns at once, the same summaries bit for bit. A column's sum and its
/// sum of squared deviations are each one chain of additions in index order, whose every step
/// waits on the last; the columns' chains run side by side, so the processor adds `G` at a time
/// (at 100,000 replications these two chains were most of the summary's time).
pub fn summarize_columns<const G: usize>(
    values: [&[f64]; G],
    scratch: &mut [Vec<f64>; G],
) -> [Option<Summary>; G] {
    for (s, v) in scratch.iter_mut().zip(values) {
        s.clear();
        s.extend(v.iter().copied().filter(|x| x.is_finite()));
    }
    let lens = scratch.each_ref().map(|s| s.len());
    let sums = chained_sums(scratch, [0.0; G], |x, _| x);
    let means: [f64; G] = std::array::from_fn(|g| sums[g] / lens[g] as f64);
    let squares = chained_sums(scratch, means, |x, mean| (x - mean).powi(2));
    std::array::from_fn(|g| {
        let (n, mean) = (lens[g], means[g]);
        if n == 0 {
            return None;
        }
        let sd = if n > 1 {
            (squares[g] / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half = if n > 1 {
            t_975(n - 1) * sd / (n as f64).sqrt()
        } else {
            0.0
        };
        let sorted = &mut scratch[g];
        select_quantile_ranks(sorted);
        Some(Summary {
            n,
            mean,
            sd,
            q05: quantile_sorted(sorted, 0.05),
            q25: quantile_sorted(sorted, 0.25),
            q50: quantile_sorted(sorted, 0.5),
            q75: quantile_sorted(sorted, 0.75),
            q95: quantile_sorted(sorted, 0.95),
            ci_low: mean - half,
            ci_high: mean + half,
        })
    })
}

/// Per column `g`, the sum of `term(x, at[g])` over its values in index order, as
/// `Iterator::sum` adds them (from its neutral element, one addition after another), with the
/// columns' additions interleaved: over the length they share, then each column's rest.
#[inline]
// Index k walks the G columns side by side (heads[g][k]), which an iterator over one does not
// express.
#[allow(clippy::needless_range_loop)]
fn chained_sums<const G: usize>(
    columns: &[Vec<f64>; G],
    at: [f64; G],
    term: impl Fn(f64, f64) -> f64,
) -> [f64; G] {
    // The neutral element `Iterator::sum` starts from (-0.0 or 0.0, by the standard library's
    // version), so that a column of zeros keeps the sign of zero it had.
    let neutral: f64 = std::iter::empty::<f64>().sum();
    let mut sums = [neutral; G];
    let shared = columns.iter().map(Vec::len).min().unwrap_or(0);
    let heads: [&[f64]; G] = std::array::from_fn(|g| &columns[g][..shared]);
    for k in 0..shared {
        for g in 0..G {
            sums[g] += term(heads[g][k], at[g]);
        }
    }
    for g in 0..G {
        for &x in &columns[g][shared..] {
            sums[g] += term(x, at[g]);
        }
    }
    sums
}

/// The quantiles [`summarize`] reports.
const SUMMARY_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Puts at each rank that [`quantile_sorted`] reads for the [`SUMMARY_QUANTILES`] the value a
/// full sort by `total_cmp` would put there, by selection instead of a sort (linear time).
/// `total_cmp` is a total order whose equal values have the same bits, so the quantiles come out
/// bit for bit as after a sort.
fn select_quantile_ranks(values: &mut [f64]) {
    let n = values.len();
    if n < 2 {
        return;
    }
    let mut ranks = [0usize; 2 * SUMMARY_QUANTILES.len()];
    let mut k = 0;
    for q in SUMMARY_QUANTILES {
        let (lo, _) = type7(n, q);
        for rank in [lo, (lo + 1).min(n - 1)] {
            if !ranks[..k].contains(&rank) {
                ranks[k] = rank;
                k += 1;
            }
        }
    }
    let ranks = &mut ranks[..k];
    ranks.sort_unstable();
    // Selected as integers: the key of `f64::total_cmp` (the bits, with those after the sign
    // flipped for negative values) orders as `total_cmp` does, and is one comparison instead of
    // a transformation of both sides at every comparison. The map is its own inverse, so the
    // values come back with their bits.
    let keys: &mut [i64] = bytemuck::cast_slice_mut(values);
    let flip = |k: &mut i64| *k ^= (((*k >> 63) as u64) >> 1) as i64;
    keys.iter_mut().for_each(flip);
    select_ranks(keys, 0, ranks);
    keys.iter_mut().for_each(flip);
}

/// Puts at each of `ranks` (ascending, distinct, each at least `first`, the position of
/// `values[0]` in the whole) the value a sort of `values` would put there: the middle rank is
/// selected first, then the ranks below it in the part below and those above it in the part
/// above, so each value takes part in a few selections only, and a rank next to one selected
/// already costs a scan for the minimum or maximum.
fn select_ranks(values: &mut [i64], first: usize, ranks: &[usize]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let at = ranks[mid] - first;
    values.select_nth_unstable(at);
    let (below, above) = values.split_at_mut(at);
    select_ranks(below, first, &ranks[..mid]);
    select_ranks(&mut above[1..], first + at + 1, &ranks[mid + 1..]);
}

/// Quantile of sorted data by linear interpolation (Hyndman and Fan 1996, type 7, as R's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let (lo, frac) = type7(n, q);
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

/// Rank of the lower order statistic of the type-7 `q`-quantile of `n` values, and the weight of
/// the next one.
fn type7(n: usize, q: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    (lo, h - lo as f64)
}

/// [`quantile_sorted`] of `values` without sorting them all: one selection and one minimum
/// (linear time; the yearly observation takes the 10% quantile of every State's protection).
/// Reorders `values`.
pub fn quantile_unsorted(values: &mut [f64], q: f64) -> f64 {
    match values.len() {
        0 => f64::NAN,
        1 => values[0],
        n => {
            let (lo, frac) = type7(n, q);
            let (_, a, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
            let a = *a;
            let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
            a + frac * (b - a)
        }
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: exact table values up to 30,
/// then the Cornish-Fisher expansion (error below 1e-5 there).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_205, 4.302_653, 3.182_446, 2.776_445, 2.570_582, 2.446_912, 2.364_624, 2.306_004,
        2.262_157, 2.228_139, 2.200_985, 2.178_813, 2.160_369, 2.144_787, 2.131_450, 2.119_905,
        2.109_816, 2.100_922, 2.093_024, 2.085_963, 2.079_614, 2.073_873, 2.068_658, 2.063_899,
        2.059_539, 2.055_529, 2.051_831, 2.048_407, 2.045_230, 2.042_272,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let v = df as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_reference_values() {
        assert!((t_975(60) - 2.000_298).abs() < 1e-5);
        assert!((t_975(120) - 1.979_930).abs() < 1e-5);
        assert!((t_975(10) - 2.228_139).abs() < 1e-9);
    }

    #[test]
    fn summary_of_known_data() {
        let mut scratch = Vec::new();
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN], &mut scratch).expect("values");
        assert_eq!(s.n, 5);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.q50, 3.0);
        assert_eq!(s.q25, 2.0);
        assert!((s.q05 - 1.2).abs() < 1e-12);
        let half = 2.776_445 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((s.ci_high - 3.0 - half).abs() < 1e-9);
        assert!(summarize(&[f64::NAN], &mut scratch).is_none());
        let one = summarize(&[7.0], &mut scratch).expect("one value");
        assert_eq!(
            (one.sd, one.ci_low, one.ci_high, one.q05),
            (0.0, 7.0, 7.0, 7.0)
        );
    }

    #[test]
    fn summary_quantiles_by_selection_equal_those_of_a_sort() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2016);
        let mut scratch = Vec::new();
        let sizes = [
            1usize, 2, 3, 4, 5, 7, 20, 21, 193, 1000, 2047, 2048, 20_011, 100_003,
        ];
        for (n, kind) in sizes.iter().flat_map(|&n| (0..4).map(move |k| (n, k))) {
            let values: Vec<f64> = (0..n)
                .map(|_| match kind {
                    // Few distinct values, signed zeros among them: ties at the ranks read.
                    0 => match rng.random_range(0..4u32) {
                        0 => -0.0,
                        1 => 0.0,
                        _ => (rng.random_range(0..9u32) as f64) * 0.1 - 0.3,
                    },
                    // Spread evenly, of both signs.
                    1 => rng.random::<f64>() * 2.0 - 1.0,
                    // Concentrated, with rare outliers that stretch the range of the keys.
                    2 => match rng.random_range(0..1000u32) {
                        0 => -1e300,
                        1 => 1e300,
                        _ => 0.5 + rng.random::<f64>() * 1e-12,
                    },
                    // One value, but for one or two others.
                    _ => [0.25, 0.25, 0.25, 7.0][rng.random_range(0..4usize).min(n % 5)],
                })
                .collect();
            let s = summarize(&values, &mut scratch).expect("values");
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let by_sort = SUMMARY_QUANTILES.map(|q| quantile_sorted(&sorted, q).to_bits());
            assert_eq!(
                [s.q05, s.q25, s.q50, s.q75, s.q95].map(f64::to_bits),
                by_sort,
                "n = {n}, kind {kind}"
            );
        }
    }

    /// Columns summarised four at a time give each the bits of the formulas one column at a time
    /// (the standard library's sums, in index order), whatever their lengths after the NaN are
    /// dropped: none left, one value, zeros of either sign, and columns of unequal lengths.
    #[test]
    fn columns_summarised_together_equal_each_alone() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let bits = |s: &Summary| {
            [
                s.mean, s.sd, s.q05, s.q25, s.q50, s.q75, s.q95, s.ci_low, s.ci_high,
            ]
            .map(f64::to_bits)
        };
        let column = |rng: &mut rand_chacha::ChaCha8Rng, kind: u32| -> Vec<f64> {
            let n = rng.random_range(0..300usize);
            (0..n)
                .map(|_| match kind {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 if rng.random_range(0..3u32) == 0 => f64::NAN,
                    _ => rng.random::<f64>() * 1e3 - 400.0,
                })
                .collect()
        };
        let mut scratch: [Vec<f64>; 4] = Default::default();
        let mut alone = Vec::new();
        for case in 0..200u32 {
            let columns: [Vec<f64>; 4] = std::array::from_fn(|g| {
                let kind = if case % 5 == 0 {
                    g as u32
                } else {
                    2 + (case + g as u32) % 2
                };
                let mut c = column(&mut rng, kind);
                if case % 7 == 0 && g == 3 {
                    c.truncate(1);
                }
                c
            });
            let together =
                summarize_columns(columns.each_ref().map(|c| c.as_slice()), &mut scratch);
            for (g, c) in columns.iter().enumerate() {
                let finite: Vec<f64> = c.iter().copied().filter(|x| x.is_finite()).collect();
                let one = summarize(c, &mut alone);
                assert_eq!(
                    together[g].map(|s| bits(&s)),
                    one.map(|s| bits(&s)),
                    "case {case}"
                );
                let Some(s) = one else {
                    assert!(finite.is_empty());
                    continue;
                };
                let n = finite.len() as f64;
                let mean = finite.iter().sum::<f64>() / n;
                assert_eq!(s.mean.to_bits(), mean.to_bits(), "case {case}");
                if finite.len() > 1 {
                    let squares = finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
                    let sd = (squares / (n - 1.0)).sqrt();
                    assert_eq!(s.sd.to_bits(), sd.to_bits(), "case {case}");
                }
            }
        }
    }

    #[test]
    fn quantile_unsorted_equals_quantile_sorted() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12345);
        for n in [1usize, 2, 3, 10, 193, 500] {
            // Fifty levels, so that ties are common.
            let values: Vec<f64> = (0..n)
                .map(|_| rng.random_range(0..50) as f64 / 50.0)
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
                let mut work = values.clone();
                assert_eq!(
                    quantile_unsorted(&mut work, q),
                    quantile_sorted(&sorted, q),
                    "n {n} q {q}"
                );
            }
        }
    }
}
