//! Randomness as a parameter: `Entropy` is injected like the clock, so tests can be deterministic.

use std::sync::Mutex;

use rand_core::{CryptoRng, RngCore};

/// A source of cryptographically secure random bytes.
pub trait Entropy: Send + Sync + 'static {
    /// Fill `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);

    /// A `rand_core` RNG view, for APIs that take `&mut impl CryptoRngCore`.
    fn rng(&self) -> EntropyRng<'_>
    where
        Self: Sized,
    {
        EntropyRng(self)
    }
}

/// The operating system's random source. The one place allowed to use it.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    #[allow(clippy::disallowed_types)]
    fn fill(&self, dest: &mut [u8]) {
        rand_core::OsRng.fill_bytes(dest);
    }
}

/// Deterministic bytes for tests (a simple counter-based generator; not for production).
#[derive(Debug)]
pub struct SeededEntropy(Mutex<u64>);

impl SeededEntropy {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(seed))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, dest: &mut [u8]) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for chunk in dest.chunks_mut(8) {
            // splitmix64
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Adapts any `Entropy` (also `&dyn Entropy`) to `rand_core`'s RNG traits.
pub struct EntropyRng<'a>(pub &'a dyn Entropy);

impl std::fmt::Debug for EntropyRng<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntropyRng")
    }
}

impl RngCore for EntropyRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl CryptoRng for EntropyRng<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_os_is_not_constant() {
        let (a, b) = (SeededEntropy::new(7), SeededEntropy::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        let mut z = [0u8; 32];
        OsEntropy.fill(&mut z);
        assert_ne!(z, [0u8; 32]);
    }
}
