//! $\ln(1 + x)$ in plain Rust, one at a time ([`ln_1p`]) or four at a time ([`ln_1p_lanes`]):
//! the same bits on every platform, and the same bits as the function the simulator called
//! before, glibc's `log1p` on an x86-64 processor with fused multiply-add.
//!
//! Why our own: under a posterior that draws the network exponent $\beta$, the network pull
//! $(1 + S)^\beta = e^{\beta \ln(1 + S)}$ takes a logarithm of every corridor's stock every
//! year, and the platform's `log1p` was a third of the flows' time: a call per corridor that
//! the compiler can neither inline nor vectorise. It was not portable either. glibc picks its
//! `log1p` when the program starts: on processors with FMA and AVX2 a build of the same source
//! that fuses multiply-adds, elsewhere one that does not, and the two differ in the last bit on
//! about one argument in 1,500; musl and macOS have their own. The results of a posterior run
//! therefore depended on the processor. This module performs the operations of the FMA build,
//! with [`f64::mul_add`] exactly where that build fuses (correctly rounded on every platform,
//! by the hardware instruction under the AVX2 build of `dispatch.rs` and by libm's `fma`
//! otherwise), so a run gives the bits it gave on the processors where the simulator has been
//! run and tested, now on every processor.
//!
//! The method is fdlibm's (Sun Microsystems, 1993), with the polynomial split in four for
//! pipelined processors as glibc has it. Write $1 + x = 2^k (1 + f)$ with
//! $\sqrt2/2 < 1 + f < \sqrt2$ and $c$ the rounding error of $1 + x$ divided by $1 + x$ (for
//! $k \ne 0$; for $-0.29 < x < 0.41$, $k = 0$ and $f = x$ exactly). With $s = f / (2 + f)$,
//! $\ln(1 + f) = f - \tfrac12 f^2 + s (\tfrac12 f^2 + R(s^2))$ for a degree-7 minimax
//! polynomial $R$ (error below $2^{-58.45}$), and
//! $\ln(1 + x) = k \ln 2 + \ln(1 + f) + c$ with $\ln 2$ in two parts.
//!
//! The tests compare both functions with the platform's `log1p` bit for bit on millions of
//! arguments (on an x86-64 processor with FMA, where that is the function being reproduced).
//!
//! # References
//! Sun Microsystems (1993), fdlibm `s_log1p.c`, from which the constants come (in bits).

use super::{LANES, Lanes, Mask, Real};

/// $\ln 2$ in two parts: the high part has 32 significant bits, so `k * LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// The coefficients of $R(z) = L_1 z + L_2 z^2 + \dots + L_7 z^7$.
const L1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
const L2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
const L3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
const L4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
const L5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
const L6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
const L7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
/// The double nearest 2/3, the slope of the short series for $|f| < 2^{-20}$.
const TWO_THIRDS: f64 = f64::from_bits(0x3fe5_5555_5555_5555);

/// Bits of $x$ at and above which $x \ge 0.41422$ and the reduction takes $k \ne 0$ (the high
/// word `0x3fda827a`, in the upper half of the 64 bits).
const REDUCE_FROM: u64 = 0x3fda_827a << 32;
/// Bits of $2^{-29}$: below it, $\ln(1 + x) = x - x^2 / 2$ to the last bit.
const TINY_BELOW: u64 = 0x3e20_0000 << 32;
/// Bits of $2^{-54}$: below it, $\ln(1 + x) = x$.
const NEGLIGIBLE_BELOW: u64 = 0x3c90_0000 << 32;
/// Bits of $2^{53}$: from it on, $1 + x$ is not computed (it would round to $x$).
const HUGE_FROM: u64 = 0x4340_0000_0000_0000;
/// The top 20 bits of the mantissa of $\sqrt 2$: a mantissa at or above it is halved.
const SQRT2_MANTISSA: u64 = 0x6_a09e << 32;
const MANTISSA: u64 = 0x000f_ffff_ffff_ffff;
/// $2^{52}$, whose bits plus a small integer $n$ are the bits of $2^{52} + n$.
const TWO52: f64 = 4_503_599_627_370_496.0;

/// The shared end of the method: $\ln(1 + x)$ from $f$, $k$ (as a double) and $c$, when
/// $|f| \ge 2^{-20}$ or $k = 0$, for one argument or four. With $k = 0$ and $c = 0$ the
/// $k \ne 0$ formula gives the bits of the $k = 0$ one,
/// $f - (\tfrac12 f^2 - s(\tfrac12 f^2 + R))$: the same operations up to the sign of one
/// rounding, and rounding to nearest is symmetric.
#[inline(always)]
fn from_reduced<T: Real>(f: T, k: T, c: T) -> T {
    let half_square = T::splat(0.5) * f * f;
    let s = f / (T::splat(2.0) + f);
    let z = s * s;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z6 = z4 * z2;
    let r2 = z.mul_add(T::splat(L3), T::splat(L2));
    let r3 = z.mul_add(T::splat(L5), T::splat(L4));
    let r4 = z.mul_add(T::splat(L7), T::splat(L6));
    let r = z6.mul_add(r4, z4.mul_add(r3, z.mul_add(T::splat(L1), z2 * r2)));
    let t = k.mul_add(T::splat(LN2_LO), c);
    let t = (half_square - (s * (half_square + r) + t)) - f;
    k.mul_add(T::splat(LN2_HI), -t)
}

/// $\ln(1 + x)$ for every double: NaN for $x < -1$ or NaN, $-\infty$ at $-1$, $+\infty$ at
/// $+\infty$.
#[inline(always)]
pub fn ln_1p(x: f64) -> f64 {
    let bits = x.to_bits();
    let magnitude = bits & !(1 << 63);
    let negative = bits >> 63 == 1;
    let below_reduction = negative || bits < REDUCE_FROM;
    if below_reduction {
        if negative && magnitude >= 1.0f64.to_bits() {
            // The default NaN of the processor, as the C function returns it.
            #[allow(clippy::eq_op)]
            return if x == -1.0 {
                f64::NEG_INFINITY
            } else {
                (x - x) / (x - x)
            };
        }
        if magnitude < TINY_BELOW {
            return if magnitude < NEGLIGIBLE_BELOW {
                x
            } else {
                x - x * x * 0.5
            };
        }
        // $-0.2929 < x < 0.41422$: $f = x$ and $k = 0$ (the high word `0xbfd2bec4` is
        // $-0.2929$).
        if !negative || magnitude < 0x3fd2_bec4 << 32 {
            return from_reduced(x, 0.0, 0.0);
        }
    } else if bits >= 0x7ff0_0000_0000_0000 {
        return x + x;
    }
    // $1 + x = 2^k (1 + f)$; $c$ is the rounding error of $1 + x$, over $1 + x$.
    let (u, c) = if negative || bits < HUGE_FROM {
        let u = 1.0 + x;
        let c = if u >= 2.0 {
            1.0 - (u - x)
        } else {
            x - (u - 1.0)
        };
        (u, c / u)
    } else {
        (x, 0.0)
    };
    let ubits = u.to_bits();
    let mut k = (ubits >> 52) as i32 - 1023;
    let mantissa = ubits & MANTISSA;
    let (normal, short) = if mantissa < SQRT2_MANTISSA {
        (mantissa | 1.0f64.to_bits(), mantissa >> 32 == 0)
    } else {
        k += 1;
        (mantissa | 0.5f64.to_bits(), mantissa >> 32 > 0xf_fffc)
    };
    let f = f64::from_bits(normal) - 1.0;
    // Just below $x = 1 - \sqrt2/2$ the reduction can end at $k = 0$, where the method drops $c$.
    let c = if k == 0 { 0.0 } else { c };
    let k = f64::from(k);
    if !short {
        return from_reduced(f, k, c);
    }
    // $|f| < 2^{-20}$: a short series.
    if f == 0.0 {
        return k.mul_add(LN2_HI, k.mul_add(LN2_LO, c));
    }
    let r = 0.5 * f * f * (-TWO_THIRDS).mul_add(f, 1.0);
    k.mul_add(LN2_HI, -((r - k.mul_add(LN2_LO, c)) - f))
}

/// [`ln_1p`] of every element of `x`, into `out` (of the same length): the same bits, four
/// elements at a time in one vector register (under AVX2 and FMA, see `dispatch.rs`).
///
/// The four-lane path covers $0 \le x < 2^{53}$ except the short series, where
/// $x \ge 0.41422$ and $-1.5 \cdot 2^{-20} \le f < 2^{-20}$ (about one argument in $10^6$, and
/// $x = 2^j - 1$): the four-lane pass tells which blocks it surely
/// covers, and only when a block is not sure does a second pass find the elements that need
/// the scalar path and recompute them one at a time. No branch per block: a branch to the
/// scalar path inside the block loop keeps the compiler from vectorising it.
#[inline(always)]
pub fn ln_1p_slice(x: &[f64], out: &mut [f64]) {
    let (x, out) = (x, &mut out[..x.len()]);
    let mut outs = out.chunks_exact_mut(LANES);
    let mut xs = x.chunks_exact(LANES);
    // Whether every block's lanes are surely ordinary, from the values its four lanes compute
    // anyway (the elements of the remainder take the full scalar path).
    let mut sure = Mask([u64::MAX; LANES]);
    for (o, x) in (&mut outs).zip(&mut xs) {
        let (v, ordinary) = four_ordinary([x[0], x[1], x[2], x[3]]);
        o.copy_from_slice(&v);
        sure = sure.and(ordinary);
    }
    for (o, &x) in outs.into_remainder().iter_mut().zip(xs.remainder()) {
        *o = ln_1p(x);
    }
    if !sure.all() {
        for (o, &v) in out.iter_mut().zip(x) {
            if extraordinary(v) {
                *o = ln_1p(v);
            }
        }
    }
}

/// Whether `x` needs the paths of [`ln_1p`] that [`four_ordinary`] leaves out: outside
/// $0 \le x < 2^{53}$, or reduced ($x \ge 0.41422$) to $|f| < 2^{-20}$, the short series (for
/// $f < 0$, the mantissa test below holds down to $f = -1.5 \cdot 2^{-20}$).
#[inline(always)]
fn extraordinary(x: f64) -> bool {
    let mantissa = (1.0 + x).to_bits() & MANTISSA;
    let short = if mantissa >= SQRT2_MANTISSA {
        mantissa > 0xf_fffc << 32
    } else {
        mantissa >> 32 == 0
    };
    !(x >= 0.0 && x < f64::from_bits(HUGE_FROM)) | ((x >= f64::from_bits(REDUCE_FROM)) & short)
}

/// $2^{-19}$: a reduced argument with $|f|$ below it may take the short series of [`ln_1p`]
/// (which needs $-1.5 \cdot 2^{-20} \le f < 2^{-20}$).
const NEAR_ONE: f64 = f64::from_bits(0x3ec0_0000_0000_0000);

/// [`ln_1p`] of four arguments none of which is [`extraordinary`], without a branch: each
/// choice of [`ln_1p`] is a select between both sides, computed for every lane. With it, the
/// lanes that are surely not [`extraordinary`]: in $0 \le x < 2^{53}$, and not reduced or
/// reduced to $|f| \ge 2^{-19}$ (a test of four compares on values computed anyway; a lane
/// it leaves out may still be ordinary, and the caller then asks [`extraordinary`]).
#[inline(always)]
fn four_ordinary(x: [f64; LANES]) -> ([f64; LANES], Mask) {
    let c1 = Lanes::splat;
    let x = Lanes(x);
    let u = c1(1.0) + x;
    let ubits = u.0.map(f64::to_bits);
    let mantissa = ubits.map(|b| b & MANTISSA);
    let halve = Mask::from_fn(|l| mantissa[l] >= SQRT2_MANTISSA);
    let reduce = x.ge(c1(f64::from_bits(REDUCE_FROM)));
    let exponent_bits = Lanes::select(halve, c1(0.5), c1(1.0)).0.map(f64::to_bits);
    let normal = Lanes::from_fn(|l| f64::from_bits(mantissa[l] | exponent_bits[l]));
    // The biased exponent $e$ of $1 + x$ as a double, exactly: the bits of $2^{52} + e$.
    let exponent = Lanes(ubits.map(|b| f64::from_bits(TWO52.to_bits() | (b >> 52)))) - c1(TWO52);
    let reduced = normal - c1(1.0);
    let f = Lanes::select(reduce, reduced, x);
    let in_range = x.ge(c1(0.0)).and(x.lt(c1(f64::from_bits(HUGE_FROM))));
    let ordinary = in_range.and(
        x.lt(c1(f64::from_bits(REDUCE_FROM)))
            .or(reduced.abs().ge(c1(NEAR_ONE))),
    );
    let k = Lanes::select(
        reduce,
        exponent - Lanes::select(halve, c1(1022.0), c1(1023.0)),
        c1(0.0),
    );
    let error = Lanes::select(u.ge(c1(2.0)), c1(1.0) - (u - x), x - (u - c1(1.0)));
    let c = Lanes::select(reduce, error / u, c1(0.0));
    let v = from_reduced(f, k, c);
    let small = Lanes::select(
        x.ge(c1(f64::from_bits(NEGLIGIBLE_BELOW))),
        x - x * x * c1(0.5),
        x,
    );
    (
        Lanes::select(x.ge(c1(f64::from_bits(TINY_BELOW))), v, small).0,
        ordinary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Whether this processor runs glibc's FMA build of `log1p`, the function reproduced (on
    /// other processors or C libraries the platform's function differs in the last bit, and
    /// the comparison is within 1 ulp).
    fn platform_is_reference() -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
        {
            std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")))]
        {
            false
        }
    }

    fn check(x: f64) {
        let (ours, theirs) = (ln_1p(x), x.ln_1p());
        if platform_is_reference() {
            assert_eq!(
                ours.to_bits(),
                theirs.to_bits(),
                "ln_1p({x:e} = {:#018x}): {ours:e} against the platform's {theirs:e}",
                x.to_bits()
            );
        } else if ours.is_nan() {
            assert!(theirs.is_nan(), "ln_1p({x:e})");
        } else {
            let ulp = (ours.to_bits() as i64 - theirs.to_bits() as i64).abs();
            assert!(
                ours == theirs || ulp <= 1,
                "ln_1p({x:e}): {ours:e} / {theirs:e}"
            );
        }
    }

    /// Every path of the method, the boundaries between them, and random arguments spread
    /// over all binades from $-1$ to $2^{1024}$.
    #[test]
    fn agrees_with_the_platform_bit_for_bit() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            -1.5,
            2.0,
            3.0,
            7.0,
            0.5,
            -0.5,
            1e-300,
            -1e-300,
            5e-324,
            1e-17,
            1e-10,
            1e-5,
            0.4142,
            0.41422,
            0.4143,
            -0.2929,
            -0.29289,
            -0.293,
            1e15,
            9.007_199_254_740_992e15,
            1e16,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            std::f64::consts::SQRT_2 - 1.0,
        ] {
            check(x);
            check(f64::from_bits(x.to_bits() + 1));
            check(f64::from_bits(x.to_bits().wrapping_sub(1)));
        }
        for b in [
            REDUCE_FROM,
            TINY_BELOW,
            NEGLIGIBLE_BELOW,
            HUGE_FROM,
            0xbfd2_bec4 << 32,
        ] {
            for d in 0..64 {
                check(f64::from_bits(b + d));
                check(f64::from_bits(b - d));
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..2_000_000 {
            // Uniform on [-1, 2) (the short series and both reductions), then every binade.
            check(rng.random::<f64>() * 3.0 - 1.0);
            check(f64::from_bits(rng.random::<u64>() >> 1));
            // Just above powers of two, where $|f| < 2^{-20}$.
            let e: i32 = rng.random_range(-60..60);
            let near = 2f64.powi(e) * (1.0 + rng.random::<f64>() * 1e-6) - 1.0;
            check(near);
        }
    }

    /// Every argument that needs the scalar path is one the four-lane pass is not sure of, at
    /// the edges of the short series on both sides of $f = 0$ and of the range; and the pass is
    /// sure of ordinary arguments (else every block would go through the second pass).
    #[test]
    fn the_four_lane_pass_is_never_sure_of_an_extraordinary_argument() {
        let sure = |x: f64| four_ordinary([x; LANES]).1.all();
        let (mut extraordinary_seen, mut unsure_ordinary) = (0, 0);
        let mut probe = |x: f64| {
            for x in [
                x,
                f64::from_bits(x.to_bits() + 1),
                f64::from_bits(x.to_bits().wrapping_sub(1)),
            ] {
                assert!(
                    !(extraordinary(x) && sure(x)),
                    "{x:e} ({:#018x})",
                    x.to_bits()
                );
                extraordinary_seen += usize::from(extraordinary(x));
                unsure_ordinary += usize::from(!extraordinary(x) && !sure(x));
            }
        };
        for x in [
            0.0,
            -0.0,
            -0.5,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
            2f64.powi(53),
        ] {
            probe(x);
        }
        // Around $x = 2^e - 1$, where $f$ passes 0: in steps of $10^8$ units in the last place
        // (about $2 \cdot 10^{-8}$ of $x$) over $\pm 0.15\%$, and at the short series' two ends.
        for e in 1..60 {
            let base = 2f64.powi(e) - 1.0;
            for d in -70_000i64..70_000 {
                probe(f64::from_bits(
                    (base.to_bits() as i64 + d * 100_000_000) as u64,
                ));
            }
            probe(base + 2f64.powi(e - 20));
            probe(base - 1.5 * 2f64.powi(e - 20));
        }
        assert!(extraordinary_seen > 1000, "{extraordinary_seen}");
        for x in [0.1, 0.5, 2.5, 1234.5, 1e12] {
            assert!(sure(x), "{x}");
        }
        // The pass's margin ($|f| < 2^{-19}$) leaves some ordinary arguments to the second pass.
        assert!(unsure_ordinary > 0);
    }

    /// A slice gives the bits of one call per element, whatever its length and wherever the
    /// elements the four-lane path leaves out fall.
    #[test]
    fn a_slice_agrees_with_ln_1p_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..8) {
            0 => rng.random::<f64>() * 0.5,
            1 => rng.random::<f64>() * 1e6,
            2 => rng.random::<f64>() * 1e-9,
            3 => f64::from_bits(rng.random::<u64>() >> 1),
            4 => f64::from(rng.random_range(0u32..40)),
            5 => rng.random::<f64>() * 1e-20,
            6 => 2f64.powi(rng.random_range(1..60)) * (1.0 + rng.random::<f64>() * 1e-6) - 1.0,
            _ => rng.random::<f64>(),
        };
        let mut out = vec![0.0; 64];
        for len in (0..64).chain([64; 20_000]) {
            let mut x: Vec<f64> = (0..len).map(|_| draw(&mut rng)).collect();
            if len > 0 && rng.random_range(0..20) == 0 {
                let at = rng.random_range(0..len);
                x[at] = [f64::NAN, -0.0, -0.5, f64::INFINITY, 1e17][rng.random_range(0..5)];
            }
            ln_1p_slice(&x, &mut out[..len]);
            for (v, o) in x.iter().zip(&out) {
                assert_eq!(o.to_bits(), ln_1p(*v).to_bits(), "ln_1p({v:e}) in {x:?}");
            }
        }
    }
}
