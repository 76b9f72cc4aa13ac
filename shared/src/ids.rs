//! Identifiers: every id is a newtype that parses strictly and prints canonically.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a ticket id is 32 lowercase hex characters")]
    BadTicketId,
    #[error("unknown document kind in id {0:?} (expected `ticket:<id>` or `kb:<site>:<locale>`)")]
    UnknownDocKind(String),
    #[error("a knowledge-base locale is `en` or `de`")]
    BadLocale,
    #[error("a site key is 1-64 characters of a-z, 0-9, '-' or '_'")]
    BadSiteKey,
}

/// A ticket's id: 128 random bits, printed as 32 lowercase hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId([u8; 16]);

impl TicketId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for TicketId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() != 32 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(IdError::BadTicketId);
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| IdError::BadTicketId)?;
        Ok(Self(bytes))
    }
}

/// As its text (32 lowercase hex characters).
impl serde::Serialize for TicketId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TicketId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The id of a synced document, as it appears on the wire:
/// `ticket:<ticket id>` or `kb:<site>:<locale>` (a site's published knowledge base).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DocId {
    Ticket(TicketId),
    Kb { site: SiteKey, locale: Locale },
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocId::Ticket(id) => write!(f, "ticket:{id}"),
            DocId::Kb { site, locale } => write!(f, "kb:{site}:{locale}"),
        }
    }
}

impl FromStr for DocId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        match s.split_once(':') {
            Some(("ticket", id)) => Ok(DocId::Ticket(id.parse()?)),
            Some(("kb", rest)) => {
                let (site, locale) = rest.split_once(':').ok_or(IdError::BadLocale)?;
                Ok(DocId::Kb {
                    site: site.parse()?,
                    locale: locale.parse()?,
                })
            }
            _ => Err(IdError::UnknownDocKind(s.chars().take(40).collect())),
        }
    }
}

/// A knowledge-base language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    En,
    De,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        match s {
            "en" => Ok(Locale::En),
            "de" => Ok(Locale::De),
            _ => Err(IdError::BadLocale),
        }
    }
}

/// The key a site owner puts in `data-site`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteKey(String);

impl SiteKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SiteKey {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::BadSiteKey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_ids_round_trip_and_reject_bad_input() {
        let text = "00112233445566778899aabbccddeeff";
        let id: TicketId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!("00112233".parse::<TicketId>(), Err(IdError::BadTicketId));
        assert_eq!(
            "00112233445566778899AABBCCDDEEFF".parse::<TicketId>(),
            Err(IdError::BadTicketId)
        );
        assert_eq!(
            "zz112233445566778899aabbccddeeff".parse::<TicketId>(),
            Err(IdError::BadTicketId)
        );
    }

    #[test]
    fn doc_ids_name_their_kind() {
        let doc: DocId = "ticket:00112233445566778899aabbccddeeff".parse().unwrap();
        assert_eq!(doc.to_string(), "ticket:00112233445566778899aabbccddeeff");
        assert!(matches!(
            "site:demo".parse::<DocId>(),
            Err(IdError::UnknownDocKind(_))
        ));
        let kb: DocId = "kb:demo-shop:de".parse().unwrap();
        assert_eq!(kb.to_string(), "kb:demo-shop:de");
        assert_eq!("kb:demo:fr".parse::<DocId>(), Err(IdError::BadLocale));
        assert_eq!("kb:demo".parse::<DocId>(), Err(IdError::BadLocale));
    }

    #[test]
    fn site_keys_are_restricted() {
        assert!("demo-shop_1".parse::<SiteKey>().is_ok());
        assert!("".parse::<SiteKey>().is_err());
        assert!("Demo".parse::<SiteKey>().is_err());
        assert!("a/b".parse::<SiteKey>().is_err());
    }
}
