//! A site's public configuration, as the widget fetches it from
//! `GET /api/sites/{site}/config`.

use serde::{Deserialize, Serialize};

use crate::validate::SiteRules;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteConfig {
    /// Shown in the widget's header.
    pub name: String,
    /// CSS colour of the launcher and the widget's accents, e.g. `#0b5fff`.
    pub brand_color: String,
    /// Default locale of the widget: `en` or `de`.
    pub locale: String,
    /// Categories a customer may file a ticket under.
    pub categories: Vec<Category>,
    /// Promised response times.
    pub sla: Sla,
    /// An optional live banner (e.g. an outage notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    pub label_en: String,
    pub label_de: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

impl SiteConfig {
    /// The parts of the configuration that change validation depends on.
    pub fn rules(&self) -> SiteRules {
        SiteRules {
            categories: self.categories.iter().map(|c| c.id.clone()).collect(),
        }
    }
}
