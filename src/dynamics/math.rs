//! The exponential function in plain Rust: the same bits on every platform and compiler.
//!
//! The simulator calls `exp` about twenty times per State-year (destination choice, the logit of
//! policy choice, attendance, ratification). The platform's `libm` is neither guaranteed to give
//! the same bits everywhere (glibc, musl and macOS differ in the last place) nor inlinable; this
//! one is both. It is table-driven: $e^x = 2^m \cdot 2^{j/64} \cdot e^r$ with
//! $k = \mathrm{round}(64 x / \ln 2)$, $m = \lfloor k/64 \rfloor$, $j = k \bmod 64$,
//! $r = x - k \ln 2 / 64$ ($|r| \le 0.0055$) and a degree-5 polynomial for $e^r$ (truncation
//! error below $4 \cdot 10^{-17}$). The error against the exact value is below 1 ulp over the
//! range tested. Results below $2^{-1022}$ (arguments under -708) are flushed to zero: the model
//! never needs subnormal weights.
//!
//! # References
//! Tang (1989), "Table-driven implementation of the exponential function in IEEE floating-point
//! arithmetic", ACM TOMS 15(2).

mod ln_1p;
pub use ln_1p::{ln_1p, ln_1p_slice};

/// $2^{j/64}$, $j = 0..63$, correctly rounded.
#[rustfmt::skip]
#[allow(clippy::approx_constant)] // 2^(32/64) is SQRT_2, written like its neighbours.
const TABLE: [f64; 64] = [
    1.0, 1.0108892860517005, 1.0218971486541166, 1.0330248790212284,
    1.0442737824274138, 1.0556451783605572, 1.0671404006768237, 1.0787607977571199,
    1.0905077326652577, 1.102382583307841, 1.1143867425958924, 1.1265216186082418,
    1.1387886347566916, 1.1511892299529827, 1.1637248587775775, 1.1763969916502812,
    1.189207115002721, 1.202156731452703, 1.215247359980469, 1.22848053610687,
    1.241857812073484, 1.255380757024691, 1.2690509571917332, 1.2828700160787783,
    1.2968395546510096, 1.3109612115247644, 1.3252366431597413, 1.339667524053303,
    1.3542555469368927, 1.3690024229745905, 1.383909881963832, 1.3989796725383112,
    1.4142135623730951, 1.42961333839197, 1.4451808069770467, 1.460917794180647,
    1.4768261459394993, 1.4929077282912648, 1.5091644275934228, 1.5255981507445384,
    1.5422108254079407, 1.559004400237837, 1.5759808451078865, 1.593142151342267,
    1.6104903319492543, 1.6280274218573478, 1.645755478153965, 1.6636765803267364,
    1.681792830507429, 1.7001063537185235, 1.718619298122478, 1.7373338352737062,
    1.7562521603732995, 1.7753764925265212, 1.7947090750031072, 1.8142521755003989,
    1.8340080864093424, 1.8539791250833855, 1.8741676341103, 1.8945759815869656,
    1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951
,
];

/// 64 / ln 2.
const SCALE: f64 = 92.332_482_616_893_66;
/// ln 2 / 64 in two parts: the high part has 32 significant bits, so `k * LN2_HI` is exact for
/// every `k` this function sees.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / 64.0;
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76) / 64.0;
/// Adding 1.5 * 2^52 rounds to the nearest integer (ties to even) without an SSE4.1 instruction,
/// and leaves that integer in the low bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// $e^x$. NaN stays NaN, arguments above 709 give infinity, arguments below -708 give 0.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    if !(x > -708.0 && x < 709.0) {
        return if x.is_nan() {
            x
        } else if x > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
    }
    let shifted = x * SCALE + ROUNDER;
    let kf = shifted - ROUNDER;
    // The low 32 bits of the shifted value hold k in two's complement.
    let k = shifted.to_bits() as u32 as i32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let q = r + r * r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0))));
    let t = TABLE[(k & 63) as usize];
    let scale = f64::from_bits((((k >> 6) + 1023) as u64) << 52);
    (t + t * q) * scale
}

/// Lanes of [`exp_lanes`]: four doubles, one AVX2 register.
pub const LANES: usize = 4;

/// [`exp`] of four arguments at once: the same IEEE operations per lane, written so that the
/// compiler runs the lanes in one vector register (under AVX2, see `dispatch.rs`), and the same
/// bits as four calls of [`exp`]. A lane outside the polynomial's range (NaN, above 709 or
/// below -708) sends all four through [`exp`].
#[inline(always)]
pub fn exp_lanes(x: [f64; LANES]) -> [f64; LANES] {
    // A sum of the lanes' flags, not `all`, so the check does not branch per lane.
    let inside = x.map(|v| u8::from(v > -708.0 && v < 709.0));
    if inside.iter().sum::<u8>() != LANES as u8 {
        return x.map(exp);
    }
    let shifted = x.map(|v| v * SCALE + ROUNDER);
    let kf = shifted.map(|s| s - ROUNDER);
    // The shifted value's bits are those of 1.5 * 2^52 plus k (|k| < 2^17), so its low 6 bits
    // are k mod 64, and k + 1023 * 64, which is positive in the range, shifted right by 6 is
    // the biased exponent floor(k / 64) + 1023 of [`exp`], without a 64-bit arithmetic shift.
    let bits = shifted.map(f64::to_bits);
    let r: [f64; LANES] = std::array::from_fn(|l| (x[l] - kf[l] * LN2_HI) - kf[l] * LN2_LO);
    let q = r.map(|r| r + r * r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    let t = bits.map(|b| TABLE[(b & 63) as usize]);
    let scale = bits.map(|b| {
        let biased = b.wrapping_sub(ROUNDER.to_bits()).wrapping_add(1023 * 64);
        f64::from_bits((biased >> 6) << 52)
    });
    std::array::from_fn(|l| (t[l] + t[l] * q[l]) * scale[l])
}

/// The logistic function $1 / (1 + e^{-x})$.
#[inline(always)]
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// The larger of two levels in one instruction. `f64::max` also orders signed zeros and NaN,
/// which costs several instructions in the hottest loops; here NaN gives `b`, and the yearly
/// invariant check catches any NaN in the world.
#[inline(always)]
pub fn fmax(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// The smaller of two levels in one instruction (see [`fmax`]).
#[inline(always)]
pub fn fmin(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// The positive part, $\max(x, 0)$; NaN gives 0, as `f64::max` does.
#[inline(always)]
pub fn pos(x: f64) -> f64 {
    if x > 0.0 { x } else { 0.0 }
}

/// Numbers the shared formulas compute with: one double, or [`Lanes`] of four (a State or a
/// destination per lane). A formula written once over `Real` performs the same IEEE operations,
/// in the same order, on each lane as on one double, so a block of four gives the bits of four
/// single calls; under AVX2 (see `dispatch.rs`) a block is one vector register.
pub trait Real:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    /// The constant `v` in every lane.
    fn splat(v: f64) -> Self;
    /// [`fmin`] per lane.
    fn min(self, other: Self) -> Self;
    /// [`fmax`] per lane.
    fn max(self, other: Self) -> Self;
    /// [`pos`] per lane.
    fn pos(self) -> Self;
    /// `self * a + b` with one rounding ([`f64::mul_add`]) per lane.
    fn mul_add(self, a: Self, b: Self) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn splat(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn min(self, other: f64) -> f64 {
        fmin(self, other)
    }
    #[inline(always)]
    fn max(self, other: f64) -> f64 {
        fmax(self, other)
    }
    #[inline(always)]
    fn pos(self) -> f64 {
        pos(self)
    }
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64) -> f64 {
        f64::mul_add(self, a, b)
    }
}

/// Four doubles computed together, one per lane (see [`Real`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lanes(pub [f64; LANES]);

impl Lanes {
    /// Lane `l` holds `f(l)`.
    #[inline(always)]
    pub fn from_fn(f: impl FnMut(usize) -> f64) -> Lanes {
        Lanes(std::array::from_fn(f))
    }

    /// `v[at[l]]` in lane `l`: one vector load where the positions follow each other (every
    /// block of States but a world's last), a load per lane elsewhere. The same values either way.
    #[inline(always)]
    pub fn gather(v: &[f64], at: [usize; LANES]) -> Lanes {
        let first = at[0];
        if (1..LANES).all(|l| at[l] == first + l)
            && let Some(block) = v.get(first..first + LANES)
        {
            return Lanes(std::array::from_fn(|l| block[l]));
        }
        Lanes::from_fn(|l| v[at[l]])
    }

    /// Lane by lane, `a` where `mask` holds and `b` elsewhere: a choice of bits, exact, one
    /// blend instruction under AVX2.
    #[inline(always)]
    pub fn select(mask: Mask, a: Lanes, b: Lanes) -> Lanes {
        Lanes::from_fn(|l| {
            f64::from_bits((a.0[l].to_bits() & mask.0[l]) | (b.0[l].to_bits() & !mask.0[l]))
        })
    }

    /// Per lane, whether `self` is above `other` (false where either is NaN).
    #[inline(always)]
    pub fn gt(self, other: Lanes) -> Mask {
        Mask::from_fn(|l| self.0[l] > other.0[l])
    }

    /// Per lane, whether `self` is below `other` (false where either is NaN).
    #[inline(always)]
    pub fn lt(self, other: Lanes) -> Mask {
        Mask::from_fn(|l| self.0[l] < other.0[l])
    }

    /// Per lane, whether `self` is at least `other` (false where either is NaN).
    #[inline(always)]
    pub fn ge(self, other: Lanes) -> Mask {
        Mask::from_fn(|l| self.0[l] >= other.0[l])
    }

    /// Per lane, whether `self` is at most `other` (false where either is NaN).
    #[inline(always)]
    pub fn le(self, other: Lanes) -> Mask {
        Mask::from_fn(|l| self.0[l] <= other.0[l])
    }

    /// Per lane, whether `self` equals `other` (IEEE: 0 equals -0, NaN equals nothing).
    #[inline(always)]
    pub fn eq(self, other: Lanes) -> Mask {
        Mask::from_fn(|l| self.0[l] == other.0[l])
    }

    /// The absolute value per lane (a bit operation: exact).
    #[inline(always)]
    pub fn abs(self) -> Lanes {
        Lanes(self.0.map(f64::abs))
    }

    /// [`exp`] per lane, through [`exp_lanes`] (the same bits).
    #[inline(always)]
    pub fn exp(self) -> Lanes {
        Lanes(exp_lanes(self.0))
    }

    /// [`logistic`] per lane (the same bits).
    #[inline(always)]
    pub fn logistic(self) -> Lanes {
        let one = Lanes::splat(1.0);
        one / (one + (-self).exp())
    }
}

/// The positions of the block of [`LANES`] starting at `first` among `n`: `first..first +
/// LANES`, the last (`n - 1`) repeated where they end. Every block's lanes then hold real
/// values; the repeated lanes are dropped.
#[inline(always)]
pub fn block(first: usize, n: usize) -> [usize; LANES] {
    std::array::from_fn(|l| (first + l).min(n - 1))
}

/// A condition per lane, as a comparison of [`Lanes`] leaves it in a vector register: every bit
/// set where it holds, none where it does not. [`Lanes::select`] on it is one blend; on an array
/// of `bool` the compiler chose lane by lane, with a conditional move and a scalar load each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask(pub [u64; LANES]);

impl Mask {
    /// Lane `l` holds where `f(l)` is true.
    #[inline(always)]
    pub fn from_fn(mut f: impl FnMut(usize) -> bool) -> Mask {
        Mask(std::array::from_fn(|l| if f(l) { u64::MAX } else { 0 }))
    }

    /// Whether lane `l` holds.
    #[inline(always)]
    pub fn lane(self, l: usize) -> bool {
        self.0[l] != 0
    }

    /// Whether every lane holds: one test of the lanes' common bits, not a branch per lane.
    #[inline(always)]
    pub fn all(self) -> bool {
        self.0.iter().fold(u64::MAX, |a, &b| a & b) != 0
    }

    /// Whether any lane holds.
    #[inline(always)]
    pub fn any(self) -> bool {
        self.0.iter().fold(0, |a, &b| a | b) != 0
    }

    /// Both conditions, per lane.
    #[inline(always)]
    pub fn and(self, other: Mask) -> Mask {
        Mask(std::array::from_fn(|l| self.0[l] & other.0[l]))
    }

    /// Either condition, per lane.
    #[inline(always)]
    pub fn or(self, other: Mask) -> Mask {
        Mask(std::array::from_fn(|l| self.0[l] | other.0[l]))
    }

    /// The lanes where the condition holds, as `bool`s.
    #[inline(always)]
    pub fn to_bools(self) -> [bool; LANES] {
        std::array::from_fn(|l| self.lane(l))
    }
}

macro_rules! lanes_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl std::ops::$trait for Lanes {
            type Output = Lanes;
            #[inline(always)]
            fn $method(self, other: Lanes) -> Lanes {
                Lanes::from_fn(|l| self.0[l] $op other.0[l])
            }
        }
    };
}
lanes_op!(Add, add, +);
lanes_op!(Sub, sub, -);
lanes_op!(Mul, mul, *);
lanes_op!(Div, div, /);

impl std::ops::Neg for Lanes {
    type Output = Lanes;
    #[inline(always)]
    fn neg(self) -> Lanes {
        Lanes(self.0.map(|v| -v))
    }
}

impl Real for Lanes {
    #[inline(always)]
    fn splat(v: f64) -> Lanes {
        Lanes([v; LANES])
    }
    #[inline(always)]
    fn min(self, other: Lanes) -> Lanes {
        Lanes::from_fn(|l| fmin(self.0[l], other.0[l]))
    }
    #[inline(always)]
    fn max(self, other: Lanes) -> Lanes {
        Lanes::from_fn(|l| fmax(self.0[l], other.0[l]))
    }
    #[inline(always)]
    fn pos(self) -> Lanes {
        Lanes(self.0.map(pos))
    }
    #[inline(always)]
    fn mul_add(self, a: Lanes, b: Lanes) -> Lanes {
        Lanes::from_fn(|l| self.0[l].mul_add(a.0[l], b.0[l]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error against the platform's exp, whose own error is below 1 ulp.
    #[test]
    fn agrees_with_std_exp_within_two_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = -707.9;
        while x < 708.5 {
            for dx in [0.0, 1e-9, 0.3171, 0.0001234] {
                let v = x + dx;
                let (a, b) = (exp(v), v.exp());
                worst = worst.max(((a - b) / b).abs());
            }
            x += 0.0137;
        }
        for v in [
            0.0, -0.0, 1e-300, -1e-300, 1e-17, 0.5, -0.5, 1.0, 2.0, 10.0, -37.0,
        ] {
            let (a, b) = (exp(v), v.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(
            worst <= 2.0 * f64::EPSILON,
            "worst relative error {worst:e}"
        );
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1.0), std::f64::consts::E);
    }

    /// Four lanes at once give the bits of four calls, on the range and at its edges, where a
    /// lane outside it sends the four through the scalar path.
    #[test]
    fn lanes_agree_with_exp_bit_for_bit() {
        let mut x = -720.0;
        let mut checked = 0;
        while x < 720.0 {
            let lanes = [x, -x * 0.37, x * 1e-3 + 0.011, x * 1e-5];
            assert_eq!(
                exp_lanes(lanes).map(f64::to_bits),
                lanes.map(|v| exp(v).to_bits())
            );
            x += 0.0371;
            checked += 1;
        }
        for lanes in [
            [f64::NAN, 1.0, -1.0, 0.0],
            [-708.0, 709.0, -707.999, 708.999],
            [f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e-300],
        ] {
            let want = lanes.map(|v| exp(v).to_bits());
            assert_eq!(exp_lanes(lanes).map(f64::to_bits), want, "{lanes:?}");
        }
        assert!(checked > 38_000);
    }

    /// A gather gives `v[at[l]]` per lane whether the positions follow each other (one load)
    /// or not, and at the slice's end.
    #[test]
    fn gather_reads_each_lanes_position() {
        let v: Vec<f64> = (0..10).map(|i| i as f64 * 1.5).collect();
        for at in [
            [0, 1, 2, 3],
            [6, 7, 8, 9],
            [3, 0, 1, 2],
            [9, 9, 9, 9],
            [2, 3, 4, 4],
        ] {
            assert_eq!(Lanes::gather(&v, at).0, at.map(|i| v[i]), "{at:?}");
        }
    }

    /// Masks from comparisons select lane by lane with the bits of `if`, signed zeros and NaN
    /// included, and `all` and `any` read every lane.
    #[test]
    fn masks_select_like_if() {
        let a = Lanes([1.0, -0.0, f64::NAN, 2.0]);
        let b = Lanes([0.0, 0.0, 1.0, 2.0]);
        let (x, y) = (
            Lanes([10.0, 20.0, 30.0, 40.0]),
            Lanes([-1.0, -2.0, -3.0, -4.0]),
        );
        let cases = [
            (a.gt(b), [true, false, false, false]),
            (a.lt(b), [false, false, false, false]),
            (a.ge(b), [true, true, false, true]),
            (a.le(b), [false, true, false, true]),
            (a.eq(b), [false, true, false, true]),
        ];
        for (mask, want) in cases {
            assert_eq!(mask.to_bools(), want);
            let picked = Lanes::select(mask, x, y);
            let by_if: [f64; LANES] =
                std::array::from_fn(|l| if want[l] { x.0[l] } else { y.0[l] });
            assert_eq!(picked.0.map(f64::to_bits), by_if.map(f64::to_bits));
            assert_eq!(mask.all(), want.iter().all(|&w| w));
            assert_eq!(mask.any(), want.iter().any(|&w| w));
        }
        let neg = Lanes::select(
            Mask::from_fn(|l| l == 1),
            Lanes::splat(-0.0),
            Lanes::splat(0.0),
        );
        assert_eq!(
            neg.0.map(f64::to_bits),
            [0.0, -0.0, 0.0, 0.0].map(f64::to_bits)
        );
        let (m, n) = (Mask::from_fn(|l| l < 2), Mask::from_fn(|l| l % 2 == 0));
        assert_eq!(m.and(n).to_bools(), [true, false, false, false]);
        assert_eq!(m.or(n).to_bools(), [true, true, true, false]);
        assert!(Mask::from_fn(|_| true).all() && !Mask::from_fn(|_| false).any());
    }

    /// The logistic of four lanes gives the bits of four calls, out to where it saturates.
    #[test]
    fn lanes_logistic_agrees_with_logistic() {
        let mut x = -800.0;
        while x < 800.0 {
            let lanes = Lanes([x, -x * 0.37, x * 1e-3, x * 1e-7]);
            assert_eq!(
                lanes.logistic().0.map(f64::to_bits),
                lanes.0.map(|v| logistic(v).to_bits())
            );
            x += 0.173;
        }
    }

    #[test]
    fn edges() {
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert!(exp(-707.9) > 0.0 && exp(708.9).is_finite());
        assert_eq!(logistic(0.0), 0.5);
        assert!(logistic(-800.0) == 0.0 && logistic(800.0) == 1.0);
    }
}
