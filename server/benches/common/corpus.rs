//! Generated article text shared by the benchmarks: a 20,000-word synthetic
//! vocabulary drawn with a Zipf-like distribution, so text compresses and
//! matches roughly like real prose.

use rand::rngs::StdRng;
use rand::Rng;

pub const VOCABULARY: usize = 20_000;

/// Word `rank` of a synthetic vocabulary: pronounceable, unique per rank.
pub fn word(rank: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bi", "da", "fe", "gu", "ho", "ji", "pa",
        "ze",
    ];
    let mut n = rank;
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
    }
    w.push('n');
    w
}

/// A Zipf-like rank: low ranks are very common, high ranks rare.
pub fn zipf_rank(rng: &mut StdRng) -> usize {
    let u: f64 = rng.random();
    ((VOCABULARY as f64).powf(u) as usize)
        .saturating_sub(1)
        .min(VOCABULARY - 1)
}

pub fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words)
        .map(|_| word(zipf_rank(rng)))
        .collect::<Vec<_>>()
        .join(" ")
}
