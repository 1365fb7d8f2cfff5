//! Partition planning: how an IR is cut into a direct head and FFT levels.

use super::{DIRECT_ONLY_MAX, HEAD_SIZES, MAX_PARTITION};

// ---------------------------------------------------------------------------------------------
// Partition planning.
// ---------------------------------------------------------------------------------------------

/// How the IR is cut: a direct head of `head` taps, then levels `(size, parts)` in order, the
/// first starting at tap `start`, each of the others where the previous one ends. `start` is
/// `head`, or, for an IR that begins with silence, a later multiple of the first level's size:
/// the head is then one (silent) tap and the silence before `start` costs nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    pub(super) head: usize,
    pub(super) start: usize,
    pub(super) levels: Vec<(usize, usize)>,
}

/// Cost model of one second of audio, in milliseconds on the machine it was measured on (a
/// 2.6 GHz AMD EPYC, AVX2 kernels, 128-sample host blocks); only the ratios matter for the plan.
/// Measured: a direct tap costs about 1/130 of a partition, and one FFT level (a forward and an
/// inverse real FFT of size `2p` per `p` samples, plus bookkeeping) about 20 partitions, almost
/// independently of `p`; each partition costs one complex multiply-add per bin per block, which
/// is memory-bound at every size.
pub(super) mod cost {
    /// Direct FIR, per tap.
    pub const FIR_TAP: f64 = 0.00135;
    /// One FFT level of partition size `p`.
    pub fn level(p: usize) -> f64 {
        0.19 + 0.01 * (128.0 / p as f64).log2().max(0.0)
    }
    /// One partition of size `p`.
    pub fn partition(p: usize) -> f64 {
        0.0095 * (1.0 + 16.0 / p as f64)
    }
}

impl Plan {
    /// Chooses the cheapest plan under [`cost`] for an IR of `len` taps whose first `lead` taps
    /// are silent (0 when it starts with sound).
    pub(super) fn choose(lead: usize, len: usize) -> Self {
        let mut best = (
            cost::FIR_TAP * len as f64,
            Plan {
                head: len.max(1),
                start: len.max(1),
                levels: Vec::new(),
            },
        );
        if len <= DIRECT_ONLY_MAX {
            return best.1;
        }
        for &head in &HEAD_SIZES {
            if head >= len {
                continue;
            }
            let (c, levels) = Self::levels_from(head, head, len, MAX_PARTITION);
            let total = c + cost::FIR_TAP * head as f64;
            if total < best.0 {
                best = (
                    total,
                    Plan {
                        head,
                        start: head,
                        levels,
                    },
                );
            }
        }
        // Past a silent lead: no head, the first level at the last multiple of its size within
        // the silence (at least one size in, so its output is due no earlier than it is ready).
        // Its partitions grow no larger than the plan without the lead would have them: the
        // block in which the largest level completes does that level's FFTs, and the cost
        // model does not weigh that block (uncapped, a 1 s room at 48 kHz took 8192-sample
        // partitions and its slowest blocks grew from 3 to 4.4 times the median).
        let largest = best
            .1
            .levels
            .last()
            .map_or(MAX_PARTITION, |&(size, _)| size);
        let mut first = HEAD_SIZES[0];
        while first <= largest && first <= lead {
            let start = lead / first * first;
            if start < len {
                let (c, levels) = Self::levels_from(first, start, len, largest);
                let total = c + cost::FIR_TAP;
                if total < best.0 {
                    best = (
                        total,
                        Plan {
                            head: 1,
                            start,
                            levels,
                        },
                    );
                }
            }
            first *= 2;
        }
        best.1
    }

    /// Dynamic program: cheapest levels covering taps `start..len`, the first of size `head`
    /// (`start` a positive multiple of it), none larger than `largest`. Sizes are powers of
    /// two times `head`; a level of size `q` may start at offset `o` only if `o` is a multiple
    /// of `q` (then `o ≥ q` holds too, since `o ≥ head > 0`).
    pub(super) fn levels_from(
        head: usize,
        start: usize,
        len: usize,
        largest: usize,
    ) -> (f64, Vec<(usize, usize)>) {
        debug_assert!(start > 0 && start.is_multiple_of(head));
        let mut sizes = vec![head];
        while sizes.last().unwrap() * 2 <= largest.max(head) {
            sizes.push(sizes.last().unwrap() * 2);
        }
        let ns = sizes.len();
        let slots = len.div_ceil(head) + 1; // offsets 0, head, 2·head, ... up to ≥ len
                                            // f[o][s]: cheapest cost to cover [o·head, len) given that a level of size sizes[s] is
                                            // running at offset o·head and already has at least one partition (its FFT is paid).
                                            // choice[o][s]: 0 = add a partition of this size; t > 0 = switch to size index s + t.
        let inf = f64::INFINITY;
        let mut f = vec![inf; slots * ns];
        let mut choice = vec![0u8; slots * ns];
        for o in (0..slots).rev() {
            let off = o * head;
            for s in (0..ns).rev() {
                let p = sizes[s];
                if !off.is_multiple_of(p) {
                    continue;
                }
                let idx = o * ns + s;
                if off >= len {
                    f[idx] = 0.0;
                    continue;
                }
                // Another partition of size p.
                let next = o + p / head;
                let mut best =
                    cost::partition(p) + if next < slots { f[next * ns + s] } else { 0.0 };
                let mut pick = 0u8;
                // Or a new, larger level starting here, with its first partition.
                for (t, &q) in sizes.iter().enumerate().skip(s + 1) {
                    if !off.is_multiple_of(q) {
                        continue;
                    }
                    let next = o + q / head;
                    let c = cost::level(q)
                        + cost::partition(q)
                        + if next < slots { f[next * ns + t] } else { 0.0 };
                    if c < best {
                        best = c;
                        pick = (t - s) as u8;
                    }
                }
                f[idx] = best;
                choice[idx] = pick;
            }
        }
        // First level: size `head` at offset `start`, with its first partition.
        let mut levels: Vec<(usize, usize)> = vec![(head, 1)];
        let mut o = start / head + 1;
        let mut s = 0;
        let total =
            cost::level(head) + cost::partition(head) + f.get(o * ns).copied().unwrap_or(0.0);
        while o < slots && o * head < len {
            let pick = choice[o * ns + s] as usize;
            if pick == 0 {
                levels.last_mut().unwrap().1 += 1;
                o += sizes[s] / head;
            } else {
                s += pick;
                levels.push((sizes[s], 1));
                o += sizes[s] / head;
            }
        }
        (total, levels)
    }
}
