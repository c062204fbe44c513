//! Which opens and clicks were a person's. Mail systems open and click by themselves: privacy
//! proxies fetch every image as the email arrives (Apple Mail Privacy Protection), security
//! gateways follow every link before the reader sees it. Counted as the reader's, they would
//! make every lead look engaged; they are recorded apart (`email_machine_open`,
//! `email_scanner_click`), where no rule scores them unless it names them.

use crate::Timestamp;

/// Sooner than this after the email went, an open is a machine's: nobody reads that fast.
pub const MACHINE_OPEN_WITHIN_MS: i64 = 60_000;
/// Sooner than this after the email went, a click is a scanner's.
pub const SCANNER_CLICK_WITHIN_MS: i64 = 30_000;

/// Words in a user agent that only programs send.
const PROGRAMS: [&str; 10] =
    ["bot", "crawler", "spider", "scanner", "preview", "barracuda", "proofpoint", "mimecast", "curl", "python"];

fn program(user_agent: &str) -> bool {
    let lower = user_agent.to_ascii_lowercase();
    PROGRAMS.iter().any(|w| lower.contains(w))
}

/// Whether an open at `at` of an email sent at `sent` by `user_agent` was a machine's: too soon,
/// no user agent, the bare `Mozilla/5.0` Apple's privacy proxy sends, or a program's.
pub fn machine_open(user_agent: Option<&str>, sent: Timestamp, at: Timestamp) -> bool {
    let ua = user_agent.map(str::trim).unwrap_or("");
    at.millis() - sent.millis() < MACHINE_OPEN_WITHIN_MS || ua.is_empty() || ua == "Mozilla/5.0" || program(ua)
}

/// Whether a click was a link scanner's: too soon after sending, no user agent, or a program's.
pub fn scanner_click(user_agent: Option<&str>, sent: Timestamp, at: Timestamp) -> bool {
    let ua = user_agent.map(str::trim).unwrap_or("");
    at.millis() - sent.millis() < SCANNER_CLICK_WITHIN_MS || ua.is_empty() || program(ua)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL_APP: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";

    #[test]
    fn a_person_opens_later_with_a_mail_clients_agent() {
        let sent = Timestamp::parse("2026-06-01T10:00:00Z").unwrap();
        let later = Timestamp::parse("2026-06-01T12:00:00Z").unwrap();
        assert!(!machine_open(Some(MAIL_APP), sent, later));
        assert!(machine_open(Some(MAIL_APP), sent, sent.plus_millis(5_000)), "on arrival");
        assert!(machine_open(Some("Mozilla/5.0"), sent, later), "Apple's proxy");
        assert!(machine_open(None, sent, later));
        assert!(machine_open(Some("Barracuda Sentinel (EE)"), sent, later));
        assert!(!scanner_click(Some(MAIL_APP), sent, later));
        assert!(scanner_click(Some(MAIL_APP), sent, sent.plus_millis(2_000)));
        assert!(scanner_click(Some("python-requests/2.31"), sent, later));
    }
}
