//! English and German texts. One struct per language, so a missing
//! translation is a compile error rather than a blank label.

use stufe_shared::ticket::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    /// Picks a language from a BCP 47 tag such as `de-AT`; None if unsupported.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag.split(['-', '_']).next()?.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}

pub struct Texts {
    pub close: &'static str,
    pub help: &'static str,
    pub search_placeholder: &'static str,
    pub no_results: &'static str,
    pub ask_us: &'static str,
    pub article_missing: &'static str,
    pub was_helpful: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub thanks_feedback: &'static str,
    pub suggestions: &'static str,
    pub new_ticket: &'static str,
    pub my_tickets: &'static str,
    pub subject: &'static str,
    pub description: &'static str,
    pub email_optional: &'static str,
    pub category: &'static str,
    pub choose_category: &'static str,
    pub submit: &'static str,
    pub submitted: &'static str,
    pub submitted_offline: &'static str,
    pub missing_subject: &'static str,
    pub missing_description: &'static str,
    pub bad_email: &'static str,
    pub missing_category: &'static str,
    pub no_tickets: &'static str,
    pub waiting_to_send: &'static str,
    pub offline: &'static str,
    pub connecting: &'static str,
    /// Who has a request now, by tier (1, 2, 3), in words.
    pub tiers: [&'static str; 3],
    pub how_did_we_do: &'static str,
    /// The five scores, worst first.
    pub scores: [&'static str; 5],
    pub rating_comment: &'static str,
    pub send_rating: &'static str,
    pub choose_score: &'static str,
    /// "You rated this N of 5" with N replaced.
    pub rated: &'static str,
    pub expected_reply: &'static str,
    pub answered: &'static str,
    /// After the first answer: by when the request should be solved.
    pub expected_solution: &'static str,
    /// "NAME is typing…", NAME replaced by the staff member (or `support`).
    pub is_typing: &'static str,
    /// The team is in business hours now.
    pub online: &'static str,
    /// The team is out of business hours; followed by when it is back.
    pub away_until: &'static str,
    /// The team is out of business hours (no time it is back).
    pub away: &'static str,
    /// Followed by a duration: how soon the team typically answers.
    pub usually_within: &'static str,
    /// Minute, hour, day: singular and plural (German: dative, after "innerhalb von").
    pub units: [[&'static str; 2]; 3],
    pub attach: &'static str,
    pub uploading: &'static str,
    /// "Remove NAME" (NAME replaced).
    pub remove_file: &'static str,
    pub upload_too_large: &'static str,
    pub upload_not_accepted: &'static str,
    pub upload_failed: &'static str,
    /// A file kept to go with the message once it can be uploaded.
    pub upload_waiting: &'static str,
    /// A kept file the server did not take when it was sent later.
    pub upload_not_sent: &'static str,
    pub waiting_files: &'static str,
    /// "Download NAME" (NAME replaced).
    pub download_file: &'static str,
    /// The decimal separator in sizes ("1.4 MB", "1,4 MB").
    pub decimal: char,
    pub back: &'static str,
    pub reply_placeholder: &'static str,
    pub send: &'static str,
    pub you: &'static str,
    pub support: &'static str,
    pub refused: &'static str,
    /// A request of theirs was erased (data protection) and is gone from this device.
    pub erased: &'static str,
    /// Before the site's privacy notice link on the request form.
    pub privacy_before: &'static str,
    pub privacy_link: &'static str,
    pub sign_in_required: &'static str,
    pub not_sent: &'static str,
    pub ticket_refused: &'static str,
    pub no_storage: &'static str,
    pub storage_failed: &'static str,
    pub kb_empty: &'static str,
    pub status_new: &'static str,
    pub status_open: &'static str,
    pub status_pending: &'static str,
    pub status_resolved: &'static str,
    pub status_closed: &'static str,
    /// New staff replies, for the launcher's name: one, several.
    pub new_replies: [&'static str; 2],
}

impl Texts {
    /// Who has a request at `tier`, in words (never "tier 2").
    pub fn tier(&self, tier: u8) -> &'static str {
        self.tiers[usize::from(tier.clamp(1, 3)) - 1]
    }

    /// The launcher's accessible name with `n` replies not seen yet.
    pub fn unread_label(&self, n: usize) -> String {
        match n {
            0 => self.support.to_owned(),
            1 => format!("{} – 1 {}", self.support, self.new_replies[0]),
            n => format!("{} – {n} {}", self.support, self.new_replies[1]),
        }
    }

    /// Who is typing: the staff member's name, or the team's when the site
    /// does not show names.
    pub fn typing(&self, name: Option<&str>) -> String {
        self.is_typing.replace("NAME", name.unwrap_or(self.support))
    }

    /// How soon the team typically answers, in the largest unit that keeps
    /// the figure readable: up to 59 minutes, up to 48 hours, then days
    /// (each rounded up).
    pub fn typical_reply(&self, minutes: u32) -> String {
        let (n, unit) = match minutes.max(1) {
            m if m < 60 => (m, 0),
            m if m <= 48 * 60 => (m.div_ceil(60), 1),
            m => (m.div_ceil(24 * 60), 2),
        };
        let word = self.units[unit][usize::from(n != 1)];
        format!("{} {n} {word}", self.usually_within)
    }

    /// A file's size, rounded: "820 B", "12 KB", "1.4 MB" (German "1,4 MB").
    pub fn file_size(&self, bytes: i64) -> String {
        let bytes = bytes.max(0) as f64;
        let (value, unit) = if bytes < 1_000.0 {
            return format!("{bytes} B");
        } else if bytes < 1_000_000.0 {
            (bytes / 1_000.0, "KB")
        } else {
            (bytes / 1_000_000.0, "MB")
        };
        let text = if value < 10.0 {
            format!("{value:.1}")
        } else {
            format!("{value:.0}")
        };
        format!("{} {unit}", text.replace('.', &self.decimal.to_string()))
    }

    pub fn status(&self, status: Status) -> &'static str {
        match status {
            Status::New => self.status_new,
            Status::Open => self.status_open,
            Status::Pending => self.status_pending,
            Status::Resolved => self.status_resolved,
            Status::Closed => self.status_closed,
        }
    }
}

pub static EN: Texts = Texts {
    close: "Close",
    help: "Help",
    search_placeholder: "Search our help articles…",
    no_results: "No articles found.",
    ask_us: "Ask our team instead →",
    article_missing: "This article is no longer available.",
    was_helpful: "Was this helpful?",
    yes: "Yes",
    no: "No",
    thanks_feedback: "Thanks for your feedback!",
    suggestions: "These articles might answer your question:",
    new_ticket: "New request",
    my_tickets: "My requests",
    subject: "Subject",
    description: "How can we help?",
    email_optional: "Email (optional; once you confirm it by the link we send, replies come by email)",
    category: "Topic",
    choose_category: "Choose a topic…",
    submit: "Send request",
    submitted: "Thanks! Your request is on its way to our team.",
    submitted_offline:
        "You are offline. Your request is saved and will be sent when you are back online.",
    missing_subject: "Please enter a subject.",
    missing_description: "Please describe your problem.",
    bad_email: "Please enter a valid email address or leave it empty.",
    missing_category: "Please choose a topic.",
    no_tickets: "You have no requests yet.",
    waiting_to_send: "Waiting to send",
    offline: "Offline — your changes are saved and will be sent later.",
    connecting: "Connecting…",
    tiers: ["With our support team", "With our specialists", "With our senior experts"],
    how_did_we_do: "How did we do?",
    scores: ["1 – very poor", "2 – poor", "3 – okay", "4 – good", "5 – excellent"],
    rating_comment: "Anything you want to tell us? (optional)",
    send_rating: "Send rating",
    choose_score: "Please choose a score from 1 to 5.",
    rated: "Thank you! You rated this N of 5.",
    expected_reply: "Expected reply by",
    answered: "Answered",
    expected_solution: "Answered · solution expected by",
    is_typing: "NAME is typing…",
    online: "We're online",
    away_until: "We're away · back",
    away: "We're away right now",
    usually_within: "we usually reply within",
    units: [["minute", "minutes"], ["hour", "hours"], ["day", "days"]],
    attach: "Attach files",
    uploading: "uploading…",
    remove_file: "Remove NAME",
    upload_too_large: "too large: at most 10 MB a file and 50 MB a request",
    upload_not_accepted: "not accepted: send pictures (PNG, JPEG, GIF, WebP), PDF or text",
    upload_failed: "could not be uploaded; check your connection and try again",
    upload_waiting: "sent with your message",
    upload_not_sent: "this file was not accepted and was left out of your message",
    waiting_files: "Waiting to send (with files)",
    download_file: "Download NAME",
    decimal: '.',
    back: "Back",
    reply_placeholder: "Write a reply…",
    send: "Send",
    you: "You",
    support: "Support",
    refused: "The server refused a change:",
    erased: "One of your requests was deleted for data protection.",
    privacy_before: "How we handle what you send us:",
    privacy_link: "privacy notice",
    sign_in_required: "Please sign in on this website to contact support.",
    not_sent: "Not sent:",
    ticket_refused: "This request was not accepted:",
    no_storage: "This browser does not let the support window keep data, so your requests will not be kept on this device after you leave the page.",
    storage_failed: "Your browser's storage is full: recent changes are not kept on this device. They are still sent while this page is open.",
    kb_empty: "There are no help articles yet. Describe your problem and we will answer.",
    status_new: "Received",
    status_open: "In progress",
    status_pending: "Waiting for you",
    status_resolved: "Resolved",
    status_closed: "Closed",
    new_replies: ["new reply", "new replies"],
};

pub static DE: Texts = Texts {
    close: "Schließen",
    help: "Hilfe",
    search_placeholder: "Hilfeartikel durchsuchen…",
    no_results: "Keine Artikel gefunden.",
    ask_us: "Stattdessen unser Team fragen →",
    article_missing: "Dieser Artikel ist nicht mehr verfügbar.",
    was_helpful: "War das hilfreich?",
    yes: "Ja",
    no: "Nein",
    thanks_feedback: "Danke für Ihr Feedback!",
    suggestions: "Diese Artikel beantworten vielleicht Ihre Frage:",
    new_ticket: "Neue Anfrage",
    my_tickets: "Meine Anfragen",
    subject: "Betreff",
    description: "Wie können wir helfen?",
    email_optional: "E-Mail (optional; sobald Sie sie über den zugesandten Link bestätigen, kommen Antworten per E-Mail)",
    category: "Thema",
    choose_category: "Thema wählen…",
    submit: "Anfrage senden",
    submitted: "Danke! Ihre Anfrage ist auf dem Weg zu unserem Team.",
    submitted_offline: "Sie sind offline. Ihre Anfrage ist gespeichert und wird gesendet, sobald Sie wieder online sind.",
    missing_subject: "Bitte geben Sie einen Betreff ein.",
    missing_description: "Bitte beschreiben Sie Ihr Problem.",
    bad_email: "Bitte geben Sie eine gültige E-Mail-Adresse ein oder lassen Sie das Feld leer.",
    missing_category: "Bitte wählen Sie ein Thema.",
    no_tickets: "Sie haben noch keine Anfragen.",
    waiting_to_send: "Wartet auf Versand",
    offline: "Offline — Ihre Änderungen sind gespeichert und werden später gesendet.",
    connecting: "Verbinde…",
    tiers: ["Bei unserem Support-Team", "Bei unseren Spezialisten", "Bei unseren erfahrensten Experten"],
    how_did_we_do: "Wie zufrieden waren Sie?",
    scores: ["1 – sehr unzufrieden", "2 – unzufrieden", "3 – geht so", "4 – zufrieden", "5 – sehr zufrieden"],
    rating_comment: "Möchten Sie uns noch etwas sagen? (optional)",
    send_rating: "Bewertung senden",
    choose_score: "Bitte wählen Sie eine Bewertung von 1 bis 5.",
    rated: "Danke! Sie haben mit N von 5 bewertet.",
    expected_reply: "Antwort erwartet bis",
    answered: "Beantwortet",
    expected_solution: "Beantwortet · Lösung erwartet bis",
    is_typing: "NAME schreibt …",
    online: "Wir sind da",
    away_until: "Gerade nicht besetzt · wieder da:",
    away: "Gerade nicht besetzt",
    usually_within: "wir antworten meist innerhalb von",
    units: [["Minute", "Minuten"], ["Stunde", "Stunden"], ["Tag", "Tagen"]],
    attach: "Dateien anhängen",
    uploading: "wird hochgeladen …",
    remove_file: "NAME entfernen",
    upload_too_large: "zu groß: höchstens 10 MB je Datei und 50 MB je Anfrage",
    upload_not_accepted: "nicht angenommen: bitte Bilder (PNG, JPEG, GIF, WebP), PDF oder Text senden",
    upload_failed: "konnte nicht hochgeladen werden; bitte Verbindung prüfen und erneut versuchen",
    upload_waiting: "wird mit Ihrer Nachricht gesendet",
    upload_not_sent: "nicht angenommen; Ihre Nachricht wurde ohne diese Datei gesendet",
    waiting_files: "Wartet auf Versand (mit Dateien)",
    download_file: "NAME herunterladen",
    decimal: ',',
    back: "Zurück",
    reply_placeholder: "Antwort schreiben…",
    send: "Senden",
    you: "Sie",
    support: "Support",
    refused: "Der Server hat eine Änderung abgelehnt:",
    erased: "Eine Ihrer Anfragen wurde aus Datenschutzgründen gelöscht.",
    privacy_before: "Wie wir mit Ihren Angaben umgehen:",
    privacy_link: "Datenschutzerklärung",
    sign_in_required: "Bitte melden Sie sich auf dieser Website an, um den Support zu kontaktieren.",
    not_sent: "Nicht gesendet:",
    ticket_refused: "Diese Anfrage wurde nicht angenommen:",
    no_storage: "Dieser Browser erlaubt dem Support-Fenster nicht, Daten zu speichern. Ihre Anfragen bleiben daher nach dem Verlassen der Seite nicht auf diesem Gerät.",
    storage_failed: "Der Speicher Ihres Browsers ist voll: Neue Änderungen werden nicht auf diesem Gerät gespeichert. Solange die Seite offen ist, werden sie trotzdem gesendet.",
    kb_empty: "Es gibt noch keine Hilfeartikel. Beschreiben Sie Ihr Anliegen, wir antworten Ihnen.",
    status_new: "Eingegangen",
    status_open: "In Bearbeitung",
    status_pending: "Wartet auf Sie",
    status_resolved: "Gelöst",
    status_closed: "Geschlossen",
    new_replies: ["neue Antwort", "neue Antworten"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_counts_new_replies_with_the_right_plural() {
        assert_eq!(EN.unread_label(0), "Support");
        assert_eq!(EN.unread_label(1), "Support – 1 new reply");
        assert_eq!(EN.unread_label(2), "Support – 2 new replies");
        assert_eq!(DE.unread_label(1), "Support – 1 neue Antwort");
        assert_eq!(DE.unread_label(12), "Support – 12 neue Antworten");
    }

    #[test]
    fn typing_and_reply_times_read_right_in_both_languages() {
        assert_eq!(EN.typing(Some("Sam")), "Sam is typing…");
        assert_eq!(EN.typing(None), "Support is typing…");
        assert_eq!(DE.typing(None), "Support schreibt …");
        assert_eq!(EN.typical_reply(1), "we usually reply within 1 minute");
        assert_eq!(EN.typical_reply(59), "we usually reply within 59 minutes");
        assert_eq!(EN.typical_reply(61), "we usually reply within 2 hours");
        assert_eq!(
            DE.typical_reply(60),
            "wir antworten meist innerhalb von 1 Stunde"
        );
        assert_eq!(
            DE.typical_reply(3 * 24 * 60),
            "wir antworten meist innerhalb von 3 Tagen"
        );
        assert_eq!(
            DE.typical_reply(0),
            "wir antworten meist innerhalb von 1 Minute"
        );
    }

    #[test]
    fn file_sizes_read_in_each_language() {
        assert_eq!(EN.file_size(820), "820 B");
        assert_eq!(EN.file_size(12_345), "12 KB");
        assert_eq!(EN.file_size(1_400_000), "1.4 MB");
        assert_eq!(DE.file_size(1_400_000), "1,4 MB");
        assert_eq!(DE.file_size(10_485_760), "10 MB");
    }

    #[test]
    fn language_tags_pick_a_language() {
        assert_eq!(Lang::from_tag("de-AT"), Some(Lang::De));
        assert_eq!(Lang::from_tag("EN_us"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr"), None);
        assert_eq!(Lang::De.texts().status(Status::Pending), "Wartet auf Sie");
    }
}
