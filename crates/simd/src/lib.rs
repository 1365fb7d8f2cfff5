//! Which vector instructions this CPU has: the one place every Tiny Timbre crate asks.
//!
//! The hot loops of the DSP blocks and the decoder are compiled twice (or three times): for the
//! baseline target and with `#[target_feature]` for AVX2 + FMA (and AVX-512F in the decoder).
//! Which build runs is picked at run time from the tokens here. A token value exists only when
//! the CPU has the features it names, so code that holds one may call the matching
//! `#[target_feature]` functions; each caller states that in its `SAFETY` comment. Rust never
//! fuses `a * b + c` into an FMA on its own, so the builds give the same bits wherever the code
//! does not ask for a fused multiply-add explicitly.
//!
//! Detection goes through std's `is_x86_feature_detected!`, which asks the CPU once and caches
//! the answer in an atomic: asking again is a relaxed load, with no allocation, lock or system
//! call, so it is safe on the audio thread. On other targets every `detect` returns `None`.

/// Proof that this CPU has AVX2 and FMA: only [`Avx2Fma::detect`] (and [`Avx512::avx2_fma`])
/// make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2Fma(());

impl Avx2Fma {
    /// The token, if this CPU has AVX2 and FMA.
    #[inline]
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            (std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
            .then_some(Self(()))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }
}

/// Proof that this CPU has AVX-512F as well as AVX2 and FMA: only [`Avx512::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx512(());

impl Avx512 {
    /// The token, if this CPU has AVX-512F, AVX2 and FMA.
    #[inline]
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            (std::arch::is_x86_feature_detected!("avx512f") && Avx2Fma::detect().is_some())
                .then_some(Self(()))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }

    /// The AVX2 + FMA token (`detect` checked those too).
    #[inline]
    pub fn avx2_fma(self) -> Avx2Fma {
        Avx2Fma(())
    }
}

/// Whether this CPU has AVX2 and FMA (for code that caches a flag instead of a token).
#[inline]
pub fn has_avx2_fma() -> bool {
    Avx2Fma::detect().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_agree_with_std_detection() {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma");
            assert_eq!(Avx2Fma::detect().is_some(), avx2);
            let avx512 = avx2 && std::arch::is_x86_feature_detected!("avx512f");
            assert_eq!(Avx512::detect().is_some(), avx512);
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert!(Avx2Fma::detect().is_none() && Avx512::detect().is_none());
        if let Some(t) = Avx512::detect() {
            assert_eq!(Some(t.avx2_fma()), Avx2Fma::detect());
        }
    }
}
