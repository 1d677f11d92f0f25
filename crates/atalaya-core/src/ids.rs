//! Identifiers: UUIDv7 built from the injected clock and randomness, so ids sort by creation time.

use rand_core::CryptoRngCore;
use uuid::Uuid;

use crate::Timestamp;

/// A new UUIDv7 for an envelope or bulletin created at `now`.
pub fn new_id(now: Timestamp, rng: &mut impl CryptoRngCore) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    let millis = u64::try_from(now.unix_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// A random URL-safe token of `bytes` random bytes, hex encoded (API tokens, nonces).
pub fn random_hex(bytes: usize, rng: &mut impl CryptoRngCore) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{RngCore, SeedableRng};

    struct Seq(u64);
    impl RngCore for Seq {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            rand_core::impls::fill_bytes_via_next(self, dest)
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for Seq {}
    impl SeedableRng for Seq {
        type Seed = [u8; 8];
        fn from_seed(seed: [u8; 8]) -> Self {
            Seq(u64::from_le_bytes(seed))
        }
    }

    #[test]
    fn ids_are_v7_and_sort_by_time() {
        let mut rng = Seq(0);
        let a = new_id(Timestamp::from_unix_millis(1_000).unwrap(), &mut rng);
        let b = new_id(Timestamp::from_unix_millis(2_000).unwrap(), &mut rng);
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
    }
}
