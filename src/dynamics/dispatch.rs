//! Runtime dispatch to AVX2: each mechanism's yearly function is compiled twice, once for the
//! baseline x86-64 (SSE2) and once with AVX2 enabled, and the processor picks at run time.
//!
//! Why: with AVX2 the compiler runs the loops over destinations and States four doubles at a
//! time; on the status quo it cut the instructions of a replication from 64.5 M to 53.4 M
//! (callgrind) and its time by 6–12% (the README's speed section). A binary built for AVX2 alone
//! (`-C target-cpu`) would not start on processors without it; this keeps one binary for all.
//!
//! Why the results do not change: both versions perform the same IEEE operations in the same
//! order. AVX2 adds wider registers, not fused multiply-add (Rust never contracts `a * b + c`),
//! and the table-driven `exp` of [`super::math`] gives the same bits on every path. A test runs
//! fifty years both ways and compares every level bit for bit.

/// Defines `pub fn $name` that runs `$body` compiled for AVX2 when the processor has it, and the
/// baseline build otherwise, and `pub fn $portable` that always runs the baseline build. `$body`
/// must be `#[inline(always)]`, and so must the helpers it calls in hot loops, so that they are
/// compiled into each version.
macro_rules! simd_dispatch {
    (
        $(#[$doc:meta])*
        pub fn $name:ident / $portable:ident ($($arg:ident : $ty:ty),* $(,)?) => $body:path
    ) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                // SAFETY: `avx2` may use AVX2 and FMA instructions, and the processor has
                // them: the lines above checked.
                return unsafe { avx2($($arg),*) };
            }
            $body($($arg),*)
        }

        /// The same as the function above, always compiled for the baseline instruction set
        /// (tests compare the two bit for bit).
        pub fn $portable($($arg: $ty),*) {
            $body($($arg),*)
        }
    };
}

pub(crate) use simd_dispatch;
