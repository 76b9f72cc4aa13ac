//! Signed customer identity: a site's backend signs who its user is as a JWT
//! (HS256, with the site's identity secret); the widget passes it on
//! (`Stufe('identify', {token})` → the `identify` frame), and the server
//! checks it here. A verified customer's tickets follow them to every device.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest identity token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Longest user id (`sub`), name and email accepted, in characters.
pub const MAX_SUB_CHARS: usize = 128;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;

/// A customer the site vouched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedCustomer {
    /// The site's own id for the user (the token's `sub`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The longest a site may let an identity token live (its `exp` at most this far ahead).
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;

/// Why an identity token was refused (the text goes to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the identity token is not a JWT (header.payload.signature, base64url)")]
    Malformed,
    #[error("the identity token must be signed with HS256")]
    WrongAlgorithm,
    #[error("the identity token's signature does not match the site's identity secret")]
    BadSignature,
    #[error("the identity token has expired")]
    Expired,
    #[error(
        "the identity token's exp is more than 24 hours ahead; sign tokens that expire sooner"
    )]
    TooLongLived,
    #[error("the identity token needs {0}")]
    MissingClaim(&'static str),
    #[error("the identity token's {0} is too long")]
    TooLong(&'static str),
    #[error("this site has no identity secret")]
    NoSecret,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<f64>,
    name: Option<String>,
    email: Option<String>,
}

/// Checks `token` against the site's `secret` at `now` (seconds since the
/// epoch): the signature (constant-time), `alg` HS256 only, `exp` required and
/// in the future, `sub` required.
pub fn verify(token: &str, secret: &str, now: i64) -> Result<VerifiedCustomer, IdentityError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(IdentityError::TooLong("size"));
    }
    let mut parts = token.split('.');
    let (Some(header_part), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| IdentityError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(header_part)?).map_err(|_| IdentityError::Malformed)?;
    if header.alg != "HS256" {
        return Err(IdentityError::WrongAlgorithm);
    }
    let signature = decode(signature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| IdentityError::NoSecret)?;
    mac.update(format!("{header_part}.{payload}").as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| IdentityError::BadSignature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| IdentityError::Malformed)?;
    let exp = claims.exp.ok_or(IdentityError::MissingClaim("exp"))?;
    if exp <= now as f64 {
        return Err(IdentityError::Expired);
    }
    // A token that leaked must not open the customer's tickets for ever.
    if exp > (now + MAX_LIFETIME_SECS) as f64 {
        return Err(IdentityError::TooLongLived);
    }
    let id = claims
        .sub
        .filter(|s| !s.trim().is_empty())
        .ok_or(IdentityError::MissingClaim("sub"))?;
    let within = |text: &Option<String>, max: usize, what| match text {
        Some(t) if t.chars().count() > max => Err(IdentityError::TooLong(what)),
        _ => Ok(()),
    };
    if id.chars().count() > MAX_SUB_CHARS {
        return Err(IdentityError::TooLong("sub"));
    }
    within(&claims.name, MAX_NAME_CHARS, "name")?;
    within(&claims.email, MAX_EMAIL_CHARS, "email")?;
    Ok(VerifiedCustomer {
        id,
        name: claims.name.filter(|n| !n.trim().is_empty()),
        email: claims.email.filter(|e| e.contains('@')),
    })
}

/// Signs `claims` as an HS256 JWT: what a site's backend does (used by the
/// demo page and the tests).
pub fn sign(claims: &serde_json::Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "site-secret";
    const NOW: i64 = 1_800_000_000;

    fn token(claims: serde_json::Value) -> String {
        sign(&claims, SECRET)
    }

    #[test]
    fn a_token_signed_with_the_site_secret_names_the_customer() {
        let t = token(
            json!({ "sub": "u-42", "exp": NOW + 60, "name": "Jo", "email": "jo@example.com" }),
        );
        assert_eq!(
            verify(&t, SECRET, NOW),
            Ok(VerifiedCustomer {
                id: "u-42".into(),
                name: Some("Jo".into()),
                email: Some("jo@example.com".into()),
            })
        );
    }

    #[test]
    fn forged_expired_and_incomplete_tokens_are_refused() {
        let good = token(json!({ "sub": "u-42", "exp": NOW + 60 }));
        assert_eq!(
            verify(&good, "other-secret", NOW),
            Err(IdentityError::BadSignature)
        );
        // Changing the payload (becoming someone else) breaks the signature.
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(json!({ "sub": "admin", "exp": NOW + 60 }).to_string());
        parts[1] = &forged_payload;
        assert_eq!(
            verify(&parts.join("."), SECRET, NOW),
            Err(IdentityError::BadSignature)
        );
        // "alg": "none" and other algorithms are not accepted.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(json!({ "sub": "u-42", "exp": NOW + 60 }).to_string())
        );
        assert_eq!(
            verify(&none, SECRET, NOW),
            Err(IdentityError::WrongAlgorithm)
        );
        assert_eq!(
            verify(&token(json!({ "sub": "u-42", "exp": NOW })), SECRET, NOW),
            Err(IdentityError::Expired)
        );
        assert_eq!(
            verify(&token(json!({ "sub": "u-42", "exp": 1e300 })), SECRET, NOW).map(drop),
            Err(IdentityError::TooLongLived)
        );
        assert!(
            verify(
                &token(json!({ "sub": "u-42", "exp": NOW + MAX_LIFETIME_SECS })),
                SECRET,
                NOW
            )
            .is_ok(),
            "24 hours is the longest allowed"
        );
        assert_eq!(
            verify(&token(json!({ "sub": "u-42" })), SECRET, NOW),
            Err(IdentityError::MissingClaim("exp"))
        );
        assert_eq!(
            verify(&token(json!({ "exp": NOW + 60 })), SECRET, NOW),
            Err(IdentityError::MissingClaim("sub"))
        );
        assert_eq!(
            verify(
                &token(json!({ "sub": "x".repeat(129), "exp": NOW + 60 })),
                SECRET,
                NOW
            ),
            Err(IdentityError::TooLong("sub"))
        );
        for junk in ["", "a.b", "a.b.c.d", "!!.??.##"] {
            assert_eq!(
                verify(junk, SECRET, NOW),
                Err(IdentityError::Malformed),
                "{junk}"
            );
        }
    }
}
