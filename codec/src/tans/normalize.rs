//! Normalisation: turning a histogram into counts that sum to a power of two.
//!
//! Every symbol with a non-zero count gets at least one slot; symbols with a zero
//! count get none and cannot be encoded with the table (callers that must be able to
//! code any symbol add a pseudo-count first, see [`normalize_with_floor`]). The
//! rounding is settled greedily by coding cost: slots are added where they save the
//! most bits and removed where they cost the least, measured on the histogram itself,
//! so the result minimises the histogram's coded size among nearby assignments.

use super::{MAX_ALPHABET, MAX_TABLE_LOG, MIN_TABLE_LOG};
use crate::{Error, Result};
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// Normalises `counts` to a table of `2^log` slots.
///
/// Errors: `EmptyHistogram` if all counts are zero, `AlphabetSize`, `TableLog`,
/// `TooManySymbols` if more symbols are used than there are slots.
pub fn normalize(counts: &[u64], log: u8) -> Result<Vec<u16>> {
    if counts.is_empty() || counts.len() > MAX_ALPHABET {
        return Err(Error::AlphabetSize { size: counts.len() });
    }
    if !(MIN_TABLE_LOG..=MAX_TABLE_LOG).contains(&log) {
        return Err(Error::TableLog { log });
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Err(Error::EmptyHistogram);
    }
    let size = 1u64 << log;
    let used = counts.iter().filter(|&&c| c > 0).count();
    if used as u64 > size {
        return Err(Error::TooManySymbols { used, slots: size as usize });
    }
    let mut norm: Vec<u32> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0
            } else {
                // Round to nearest, at least one slot; u128 avoids overflow.
                let scaled = ((c as u128 * size as u128 * 2 + total as u128) / (2 * total as u128)) as u64;
                scaled.max(1) as u32
            }
        })
        .collect();
    let sum: u64 = norm.iter().map(|&n| n as u64).sum();
    if sum < size {
        adjust(&mut norm, counts, (size - sum) as usize, true);
    } else if sum > size {
        adjust(&mut norm, counts, (sum - size) as usize, false);
    }
    debug_assert_eq!(norm.iter().map(|&n| n as u64).sum::<u64>(), size);
    Ok(norm.into_iter().map(|n| n as u16).collect())
}

/// Like [`normalize`], but first gives every symbol of the alphabet `floor` extra
/// counts, so every symbol can be coded. `floor` must be positive.
pub fn normalize_with_floor(counts: &[u64], floor: u64, log: u8) -> Result<Vec<u16>> {
    let smoothed: Vec<u64> = counts.iter().map(|&c| c + floor.max(1)).collect();
    normalize(&smoothed, log)
}

/// Change in coded bits of the histogram if symbol `s` gets one slot more (`grow`)
/// or one fewer; lower is better.
fn delta_cost(count: u64, n: u32, grow: bool) -> f64 {
    let c = count as f64;
    if grow {
        -c * ((n as f64 + 1.0) / n as f64).log2()
    } else if n <= 1 {
        f64::INFINITY
    } else {
        c * (n as f64 / (n as f64 - 1.0)).log2()
    }
}

#[derive(PartialEq)]
struct Candidate {
    cost: f64,
    symbol: usize,
}
impl Eq for Candidate {}
impl Ord for Candidate {
    // Max-heap on the negated cost: the cheapest change pops first; ties go to the
    // lower symbol so the result is deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        other.cost.total_cmp(&self.cost).then_with(|| other.symbol.cmp(&self.symbol))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn adjust(norm: &mut [u32], counts: &[u64], mut steps: usize, grow: bool) {
    let mut heap: BinaryHeap<Candidate> = norm
        .iter()
        .enumerate()
        .filter(|&(s, &n)| n > 0 && counts[s] > 0)
        .map(|(s, &n)| Candidate { cost: delta_cost(counts[s], n, grow), symbol: s })
        .collect();
    while steps > 0 {
        let Some(best) = heap.pop() else { break };
        if best.cost.is_infinite() {
            break;
        }
        let s = best.symbol;
        if grow {
            norm[s] += 1;
        } else {
            norm[s] -= 1;
        }
        steps -= 1;
        heap.push(Candidate { cost: delta_cost(counts[s], norm[s], grow), symbol: s });
    }
    debug_assert_eq!(steps, 0, "rounding always settles: each used symbol keeps >= 1 slot");
}

/// Ideal coded size in bits of `counts` under normalised table `norm` of log `log`
/// (infinite if a used symbol has no slot).
pub fn coded_bits(counts: &[u64], norm: &[u16], log: u8) -> f64 {
    counts
        .iter()
        .zip(norm)
        .filter(|(&c, _)| c > 0)
        .map(|(&c, &n)| if n == 0 { f64::INFINITY } else { c as f64 * (log as f64 - (n as f64).log2()) })
        .sum()
}

/// Empirical entropy of `counts` in bits (the coded size an ideal coder would reach).
pub fn entropy_bits(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let t = total as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| -(c as f64) * (c as f64 / t).log2()).sum()
}

/// Picks a table log for `counts`: the smallest log in
/// `MIN_TABLE_LOG..=max_log` whose coded size is within `tolerance` (relative) of the
/// coded size at `max_log`, and that can hold every used symbol.
pub fn choose_log(counts: &[u64], max_log: u8, tolerance: f64) -> Result<u8> {
    let best = coded_bits(counts, &normalize(counts, max_log)?, max_log);
    for log in MIN_TABLE_LOG..max_log {
        if let Ok(norm) = normalize(counts, log) {
            if coded_bits(counts, &norm, log) <= best * (1.0 + tolerance) {
                return Ok(log);
            }
        }
    }
    Ok(max_log)
}
