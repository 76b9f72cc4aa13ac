//! Secret tokens: made at random, stored only as their hash. A leaf.

use rand::Rng;
use sha2::{Digest, Sha256};

/// SHA-256 of a capability token, hex. Only hashes are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 32 random bytes, hex: a capability, session or API token, or a server secret.
pub fn random_token() -> String {
    hex::encode(rand::rng().random::<[u8; 32]>())
}
