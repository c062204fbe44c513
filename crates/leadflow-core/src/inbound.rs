//! What an email that came back to us means: a reply, a bounce, a spam complaint, or nothing.
//!
//! [`classify`] takes the raw RFC 5322 bytes of one inbound message (as the MTA handed it over)
//! and answers with an [`Inbound`]. It is a pure function: it reads nothing but its input, and it
//! never panics, whatever the bytes (garbage, truncated, invalid UTF-8, huge headers), because
//! inbound mail is written by strangers.
//!
//! What comes back, checked in this order:
//! - [`Inbound::Bounce`]: a delivery status notification (RFC 3464: a `multipart/report` with
//!   `report-type=delivery-status`, or a `message/delivery-status` part anywhere), or a
//!   non-standard bounce (no report, but sent by `MAILER-DAEMON@`, or by `postmaster@` about a
//!   delivery, or with a subject such as "Undelivered Mail Returned to Sender"). Hard means the
//!   address does not work (a 5.x.x status, or a 550/551/553/554 reply in a non-standard notice);
//!   Soft means try later (4.x.x, `Action: delayed`, or nothing conclusive). A DSN that only
//!   reports successful deliveries is [`Inbound::Other`].
//! - [`Inbound::Complaint`]: a spam complaint in ARF (RFC 5965).
//! - [`Inbound::Reply`]: a message whose `In-Reply-To` or `References` names a Message-ID, with a
//!   flag for automatic replies (out of office and the like, read receipts too), which are not a
//!   person's answer.
//! - [`Inbound::Other`]: anything else (newsletters, spam, a new conversation): nothing to record.
//!
//! How it is matched to what we sent: nothing here knows our sends. Our outgoing emails carry the
//! Message-ID `<send-ID.leadflow@DOMAIN>` and the envelope sender `bounces+ID@DOMAIN` (VERP), so
//! the caller looks the send up by the Message-IDs returned here ([`Reply::answers`],
//! [`Bounce::message_ids`], the complaint's `message_ids`), and, for bounces and complaints, by
//! the envelope recipient the bounce was delivered to, read with [`verp_send`]. The VERP address
//! is the sturdier key: many bounces do not quote the original message at all.

use std::borrow::Cow;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use rustc_hash::FxHashSet;

use crate::text::contains_phrase_any_case;

/// What an inbound email is, as far as lead tracking cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A person's reply to one of our emails (or an automatic one).
    Reply(Reply),
    /// A delivery status notification: our email could not be delivered (or was delayed).
    Bounce(Bounce),
    /// A spam complaint in ARF (RFC 5965, multipart/report; report-type=feedback-report).
    Complaint {
        /// Message-IDs (with angle brackets) of the reported message, from the enclosed original,
        /// so the complaint can be tied to the send; empty when the report omits the original.
        message_ids: Vec<String>,
        /// The complaining address (`Original-Rcpt-To` of the report), lower-cased; many
        /// providers redact or omit it, hence optional.
        recipient: Option<String>,
    },
    /// Neither: nothing to record.
    Other,
}

/// A reply to one of our emails: what the lead said back, and which of our emails it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The lead's address (From), lower-cased.
    pub from: Option<String>,
    /// Message-IDs it answers, with angle brackets, In-Reply-To first, then References newest (last) first.
    pub answers: Vec<String>,
    /// An automatic reply (out of office, vacation, auto-responder): does not count as a person's reply.
    pub automatic: bool,
    /// The decoded subject, trimmed, so a person can see what the reply was about.
    pub subject: Option<String>,
}

/// A bounce: our email did not reach the lead, and whether that is final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounce {
    /// Whether to stop mailing the address (Hard) or just try again later (Soft).
    pub kind: BounceKind,
    /// The enhanced status code (RFC 3463) such as "5.1.1": from the `Status` field, or else the
    /// one quoted in the diagnostic; kept because it says why (5.1.1 unknown user, 5.7.1 refused).
    pub status: Option<String>,
    /// The address that failed (`Final-Recipient` without the "rfc822;" prefix, or a non-standard
    /// bounce's `X-Failed-Recipients`), lower-cased.
    pub recipient: Option<String>,
    /// The remote server's words (`Diagnostic-Code` without the type prefix, whitespace collapsed;
    /// for a non-standard bounce, the line that carried the status), for a person to read.
    pub diagnostic: Option<String>,
    /// Message-IDs of the original message found in the bounce (from its rfc822 / rfc822-headers part).
    pub message_ids: Vec<String>,
}

/// How final a bounce is: decides whether the address may be mailed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BounceKind {
    /// A permanent failure (5.x.x): the address does not work; stop mailing it.
    Hard,
    /// A temporary failure (4.x.x, `Action: delayed`, or no conclusive status): not proof that the
    /// address is bad; try later.
    Soft,
}

/// Classifies one inbound email from its raw RFC 5322 bytes, so the caller can record a reply,
/// a bounce or a complaint against the send it names (see the module doc for the rules).
/// Never panics; bytes that are not an email at all are [`Inbound::Other`].
pub fn classify(raw: &[u8]) -> Inbound {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Inbound::Other;
    };
    if let Some(report) = report(&message) {
        return report;
    }
    if let Some(bounce) = informal_bounce(&message) {
        return Inbound::Bounce(bounce);
    }
    reply(&message).map_or(Inbound::Other, Inbound::Reply)
}

/// The send id a VERP address names: `bounces+42@yourco.example` -> Some(42) for domain "yourco.example" (case-insensitive domain; local part must be exactly `bounces+<digits>`).
///
/// This is how a bounce or complaint is tied to its send even when it quotes nothing of the
/// original: it is delivered to the envelope sender we chose. Surrounding whitespace and one pair
/// of angle brackets (as in a `Return-Path` or `Delivered-To` value) are ignored; the id must be a
/// positive integer written as we write it (no sign, no leading zero).
pub fn verp_send(address: &str, domain: &str) -> Option<i64> {
    let address = address.trim();
    let address = address.strip_prefix('<').and_then(|a| a.strip_suffix('>')).unwrap_or(address).trim();
    let (local, address_domain) = address.split_once('@')?;
    if domain.is_empty() || !address_domain.eq_ignore_ascii_case(domain) {
        return None;
    }
    let digits = local.strip_prefix("bounces+")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse::<i64>().ok().filter(|id| *id > 0)
}

// ---------------------------------------------------------------------------------------------
// Reports: delivery status notifications (RFC 3464) and feedback reports (RFC 5965).

/// A DSN or an ARF report, when the message is one.
fn report(message: &Message<'_>) -> Option<Inbound> {
    let report_type = message
        .root_part()
        .content_type()
        .filter(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && subtype_is(ct.subtype(), &["report"]))
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    let status_part = find_part(message, "message", &["delivery-status", "global-delivery-status"]);
    let feedback_part = find_part(message, "message", &["feedback-report"]);
    match report_type.as_deref() {
        Some("delivery-status") => Some(dsn(message, status_part)),
        Some("feedback-report") => Some(complaint(message, feedback_part)),
        _ if status_part.is_some() => Some(dsn(message, status_part)),
        _ if feedback_part.is_some() => Some(complaint(message, feedback_part)),
        _ => None,
    }
}

/// A spam complaint: the enclosed original says which send, the report says who complained.
fn complaint(message: &Message<'_>, feedback_part: Option<&MessagePart<'_>>) -> Inbound {
    let recipient = feedback_part
        .and_then(|part| {
            let text = String::from_utf8_lossy(part.contents());
            let fields = field_blocks(&text, 1).into_iter().next()?;
            field(&fields, "original-rcpt-to").map(str::to_owned)
        })
        .and_then(|value| clean_address(&value));
    Inbound::Complaint { message_ids: enclosed_message_ids(message), recipient }
}

/// What one per-recipient block of a delivery-status part says.
struct RecipientReport {
    action: Option<String>,
    /// The class digit (`'2'`, `'4'`, `'5'`) of the best evidence: Status, else the diagnostic's
    /// SMTP reply code, else the diagnostic's enhanced code.
    class: Option<u8>,
    status: Option<String>,
    recipient: Option<String>,
    diagnostic: Option<String>,
}

impl RecipientReport {
    fn read(fields: &[(String, String)]) -> Self {
        let action = field(fields, "action")
            .and_then(|a| a.split([' ', ';', '(']).next())
            .map(str::to_ascii_lowercase)
            .filter(|a| !a.is_empty());
        let status_field =
            field(fields, "status").and_then(|s| s.split_whitespace().next()).filter(|code| is_enhanced_code(code));
        let diagnostic = field(fields, "diagnostic-code").map(strip_type_prefix).filter(|d| !d.is_empty());
        let diagnostic_enhanced = diagnostic.as_deref().and_then(|d| enhanced_codes(d).into_iter().next());
        let diagnostic_reply = diagnostic.as_deref().and_then(|d| reply_codes(d).into_iter().next());
        let class = status_field
            .or(diagnostic_reply)
            .or(diagnostic_enhanced)
            .and_then(|code| code.bytes().next())
            .filter(|c| matches!(c, b'2' | b'4' | b'5'));
        let status = status_field.or(diagnostic_enhanced).map(str::to_owned);
        let recipient = field(fields, "final-recipient")
            .or_else(|| field(fields, "original-recipient"))
            .map(strip_type_prefix)
            .and_then(|r| clean_address(&r));
        RecipientReport { action, class, status, recipient, diagnostic }
    }

    fn is_delayed(&self) -> bool {
        self.action.as_deref() == Some("delayed")
    }

    fn is_failed(&self) -> bool {
        !self.is_delayed() && (self.action.as_deref() == Some("failed") || self.class == Some(b'5'))
    }

    /// A success notice (we never ask for those, but some servers send them anyway).
    fn is_delivered(&self) -> bool {
        matches!(self.action.as_deref(), Some("delivered" | "relayed" | "expanded"))
    }

    fn kind(&self) -> BounceKind {
        if !self.is_delayed() && self.class == Some(b'5') { BounceKind::Hard } else { BounceKind::Soft }
    }
}

/// A delivery status notification. Only a notice whose every recipient was delivered (a success
/// DSN) is [`Inbound::Other`]: there is nothing wrong to record.
fn dsn(message: &Message<'_>, status_part: Option<&MessagePart<'_>>) -> Inbound {
    let text = status_part.map(|part| String::from_utf8_lossy(part.contents())).unwrap_or_default();
    let recipients: Vec<RecipientReport> = field_blocks(&text, usize::MAX)
        .iter()
        .filter(|block| {
            ["final-recipient", "original-recipient", "action", "status", "diagnostic-code"]
                .iter()
                .any(|name| field(block, name).is_some())
        })
        .map(|block| RecipientReport::read(block))
        .collect();
    if !recipients.is_empty() && recipients.iter().all(RecipientReport::is_delivered) {
        return Inbound::Other;
    }
    let chosen = recipients
        .iter()
        .find(|r| r.is_failed())
        .or_else(|| recipients.iter().find(|r| r.is_delayed() || r.class == Some(b'4')))
        .or_else(|| recipients.iter().find(|r| !r.is_delivered()));
    let message_ids = enclosed_message_ids(message);
    let Some(chosen) = chosen else {
        return Inbound::Bounce(Bounce {
            kind: BounceKind::Soft,
            status: None,
            recipient: failed_recipients_header(message),
            diagnostic: None,
            message_ids,
        });
    };
    Inbound::Bounce(Bounce {
        kind: chosen.kind(),
        status: chosen.status.clone(),
        recipient: chosen.recipient.clone().or_else(|| failed_recipients_header(message)),
        diagnostic: chosen.diagnostic.clone(),
        message_ids,
    })
}

/// Message-IDs of the original message a report or bounce encloses: from its `message/rfc822`
/// part (or `message/global`) and its `text/rfc822-headers` part (or `message/global-headers`).
fn enclosed_message_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in &message.parts {
        if let PartType::Message(nested) = &part.body {
            ids.extend(header_values(nested, "message-id").iter().filter_map(|value| first_id(value)));
        } else if part_is(part, "message", &["rfc822", "global", "global-headers"])
            || part_is(part, "text", &["rfc822-headers"])
        {
            let text = String::from_utf8_lossy(part.contents());
            if let Some(fields) = field_blocks(&text, 1).first() {
                ids.extend(fields.iter().filter(|(name, _)| name == "message-id").filter_map(|(_, v)| first_id(v)));
            }
        }
    }
    unique(ids)
}

// ---------------------------------------------------------------------------------------------
// Non-standard bounces: plain-text notices from mail servers that do not send RFC 3464 reports.

/// Subjects that begin only a mail server's failure notice (lower-case prefixes).
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail returned to sender",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "delivery has failed",
    "delivery notification: delivery has failed",
    "undeliverable:",
    "undeliverable mail",
    "undeliverable message",
    "returned mail:",
    "failure notice",
    "mail system error",
    "delayed mail",
    "message delivery failure",
];

/// Words in a `postmaster@` message's subject that say it is about a failed delivery.
const DELIVERY_WORDS: &[&str] = &["deliver", "returned", "failure", "failed", "delay", "bounce"];

/// SMTP replies that say the recipient is refused for good (a 552 "mailbox full" is not here).
const HARD_REPLY_CODES: &[&str] = &["550", "551", "553", "554"];

/// A bounce without a report: recognized by sender and subject, graded by the codes in its text.
fn informal_bounce(message: &Message<'_>) -> Option<Bounce> {
    let from = from_address(message).unwrap_or_default();
    let local = from.split('@').next().unwrap_or_default();
    let subject = message.subject().map(|s| s.trim().to_lowercase()).unwrap_or_default();
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|prefix| subject.starts_with(prefix));
    let postmaster_notice = local == "postmaster" && DELIVERY_WORDS.iter().any(|word| subject.contains(word));
    if !(local == "mailer-daemon" || bounce_subject || postmaster_notice) {
        return None;
    }

    let body: Vec<Cow<'_, str>> = (0..message.text_body_count()).filter_map(|i| message.body_text(i)).collect();
    let body = body.join("\n");
    // The server's own words come before the quoted copy of the original; codes below that line
    // are the original's text (a price of 550, a date) and prove nothing.
    let notice_end = original_copy_start(&body).unwrap_or(body.len());
    let notice = body.get(..notice_end).unwrap_or(&body);

    let (mut hard_status, mut soft_status, mut hard_line, mut soft_line) = (None, None, None, None);
    for line in notice.lines() {
        let enhanced = enhanced_codes(line);
        let replies = reply_codes(line);
        let hard = enhanced.iter().find(|code| code.starts_with('5'));
        let soft = enhanced.iter().find(|code| code.starts_with('4'));
        if hard_status.is_none() {
            hard_status = hard.map(|code| code.to_string());
        }
        if soft_status.is_none() {
            soft_status = soft.map(|code| code.to_string());
        }
        if hard_line.is_none() && (hard.is_some() || replies.iter().any(|code| HARD_REPLY_CODES.contains(code))) {
            hard_line = Some(line);
        }
        if soft_line.is_none() && (soft.is_some() || replies.iter().any(|code| code.starts_with('4'))) {
            soft_line = Some(line);
        }
    }
    let kind = if hard_line.is_some() { BounceKind::Hard } else { BounceKind::Soft };
    let diagnostic = hard_line.or(soft_line).map(|line| collapse(line).chars().take(500).collect::<String>());

    let own_id = header_values(message, "message-id").first().and_then(|v| first_id(v));
    let mut ids = enclosed_message_ids(message);
    ids.extend(quoted_message_ids(&body));
    let mut ids = unique(ids);
    ids.retain(|id| Some(id) != own_id.as_ref());

    Some(Bounce {
        kind,
        status: hard_status.or(soft_status),
        recipient: failed_recipients_header(message),
        diagnostic,
        message_ids: ids,
    })
}

/// Where the quoted copy of the original begins in a plain-text bounce: the first dashed line
/// that mentions the message ("------ This is a copy of the message ...", "--- Below this line is
/// a copy of the message.", "-----Original Message-----").
fn original_copy_start(body: &str) -> Option<usize> {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with("--") && contains_phrase_any_case(trimmed, "message") {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Message-IDs from `Message-ID:` header lines quoted in a text body (indented or `>`-quoted too;
/// the id may be folded onto the next line).
fn quoted_message_ids(body: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut lines = body.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '>' || c == '|');
        let is_message_id = line.get(..11).is_some_and(|name| name.eq_ignore_ascii_case("message-id:"));
        if !is_message_id {
            continue;
        }
        let rest = line.get(11..).unwrap_or_default();
        let mut found = message_ids(rest);
        if found.is_empty()
            && let Some(next) = lines.peek()
            && next.starts_with([' ', '\t'])
        {
            found = message_ids(next);
        }
        ids.extend(found.into_iter().next());
    }
    ids
}

/// Exim's (and others') `X-Failed-Recipients` header: the first address, lower-cased.
fn failed_recipients_header(message: &Message<'_>) -> Option<String> {
    header_values(message, "x-failed-recipients").iter().find_map(|value| value.split(',').find_map(clean_address))
}

// ---------------------------------------------------------------------------------------------
// Replies.

/// Subject beginnings that auto-responders use (lower-case).
const AUTOMATIC_SUBJECTS: &[&str] =
    &["out of office", "automatic reply", "auto:", "autoreply", "abwesenheitsnotiz", "réponse automatique"];

/// A reply, when the message names at least one Message-ID it answers.
fn reply(message: &Message<'_>) -> Option<Reply> {
    let mut answers: Vec<String> = header_values(message, "in-reply-to").iter().flat_map(|v| message_ids(v)).collect();
    let references: Vec<String> = header_values(message, "references").iter().flat_map(|v| message_ids(v)).collect();
    answers.extend(references.into_iter().rev());
    let answers = unique(answers);
    if answers.is_empty() {
        return None;
    }
    let subject = message.subject().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Some(Reply { from: from_address(message), answers, automatic: is_automatic(message, subject.as_deref()), subject })
}

/// Whether a reply was written by a program rather than a person (RFC 3834 and common practice).
fn is_automatic(message: &Message<'_>, subject: Option<&str>) -> bool {
    let auto_submitted = header_values(message, "auto-submitted").iter().any(|value| {
        let token = value.split(';').next().unwrap_or_default().trim();
        !token.eq_ignore_ascii_case("no")
    });
    let autoreply_header =
        !header_values(message, "x-autoreply").is_empty() || !header_values(message, "x-autorespond").is_empty();
    let precedence = header_values(message, "precedence")
        .iter()
        .any(|value| ["auto_reply", "bulk", "junk"].iter().any(|p| value.trim().eq_ignore_ascii_case(p)));
    let subject = subject.unwrap_or_default();
    let suppress_oof = header_values(message, "x-auto-response-suppress").iter().any(|value| {
        value.split([',', ' ', '\t']).any(|t| t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case("oof"))
    }) && suggests_out_of_office(subject);
    let lower_subject = subject.trim_start().to_lowercase();
    let automatic_subject = AUTOMATIC_SUBJECTS.iter().any(|prefix| lower_subject.starts_with(prefix));
    // A read receipt or other machine report (multipart/report of a kind not handled above,
    // such as RFC 8098 disposition notifications) is not a person's reply either.
    let machine_report = message
        .root_part()
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && subtype_is(ct.subtype(), &["report"]));
    auto_submitted || autoreply_header || precedence || suppress_oof || automatic_subject || machine_report
}

/// Whether a subject reads like an out-of-office notice, in the languages our leads write in.
fn suggests_out_of_office(subject: &str) -> bool {
    [
        "out of office",
        "out of the office",
        "ooo",
        "oof",
        "away",
        "vacation",
        "holiday",
        "holidays",
        "absent",
        "absence",
        "abwesend",
        "abwesenheit",
        "abwesenheitsnotiz",
        "urlaub",
        "congé",
        "congés",
        "automatic reply",
        "auto reply",
        "autoreply",
    ]
    .iter()
    .any(|phrase| contains_phrase_any_case(subject, phrase))
}

// ---------------------------------------------------------------------------------------------
// Helpers: headers, fields, ids and codes, all total (no input makes them panic).

/// Every value of the top-level header `name` (any case), raw (not decoded), unfolded.
fn header_values(message: &Message<'_>, name: &str) -> Vec<String> {
    let Some(root) = message.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .filter(|header| header.name.as_str().eq_ignore_ascii_case(name))
        .map(|header| {
            let range = header.offset_start as usize..header.offset_end as usize;
            let raw = message.raw_message.get(range).unwrap_or_default();
            collapse(&String::from_utf8_lossy(raw))
        })
        .collect()
}

/// The From address, lower-cased.
fn from_address(message: &Message<'_>) -> Option<String> {
    message.from()?.first()?.address.as_deref().and_then(clean_address)
}

/// The first part (the root included, nested messages excluded) of type `ctype/one-of-subtypes`.
fn find_part<'a, 'x>(message: &'a Message<'x>, ctype: &str, subtypes: &[&str]) -> Option<&'a MessagePart<'x>> {
    message.parts.iter().find(|part| part_is(part, ctype, subtypes))
}

fn part_is(part: &MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| ct.ctype().eq_ignore_ascii_case(ctype) && subtype_is(ct.subtype(), subtypes))
}

fn subtype_is(subtype: Option<&str>, subtypes: &[&str]) -> bool {
    subtype.is_some_and(|s| subtypes.iter().any(|candidate| s.eq_ignore_ascii_case(candidate)))
}

/// Blocks of `Name: value` lines separated by blank lines (the body of a delivery-status or
/// feedback-report part, or a header block), at most `max_blocks` of them. Names are lower-cased;
/// folded values are unfolded; lines that are not fields are skipped.
fn field_blocks(text: &str, max_blocks: usize) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
                if blocks.len() >= max_blocks {
                    return blocks;
                }
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                block.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
    }
    if !block.is_empty() && blocks.len() < max_blocks {
        blocks.push(block);
    }
    for (_, value) in blocks.iter_mut().flatten() {
        *value = collapse(value);
    }
    blocks
}

/// The first value of field `name` (lower-case) in a block, if not empty.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// `smtp; 550 ...` -> `550 ...`, `rfc822; a@b` -> `a@b`: drops an address or diagnostic type
/// prefix (an atom before the first `;`), leaves other text as it is.
fn strip_type_prefix(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.trim().is_empty() && !kind.trim().contains(char::is_whitespace) => {
            rest.trim().to_owned()
        }
        _ => value.trim().to_owned(),
    }
}

/// An address as written in a report (`<A@B>`, ` a@b `), lower-cased; None when empty.
fn clean_address(value: &str) -> Option<String> {
    let value = value.trim();
    let value = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')).unwrap_or(value).trim();
    (!value.is_empty() && !value.contains(char::is_whitespace)).then(|| value.to_lowercase())
}

/// Whitespace runs (folding included) as single spaces, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every `<left@right>` in `text`, angle brackets kept, in order. Needs an `@` and no whitespace
/// inside, which is what tells a Message-ID from stray brackets.
fn message_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find(['<', '>']) else {
            break;
        };
        if after[end..].starts_with('>') {
            let id = &after[..end];
            if id.contains('@') && !id.starts_with('@') && !id.ends_with('@') && !id.contains(char::is_whitespace) {
                ids.push(format!("<{id}>"));
            }
            rest = &after[end + 1..];
        } else {
            rest = &after[end..];
        }
    }
    ids
}

/// The first Message-ID in a header value.
fn first_id(value: &str) -> Option<String> {
    message_ids(value).into_iter().next()
}

/// `ids` without repeats, first occurrence kept, in linear time (a hostile `References` header
/// may name thousands).
fn unique(ids: Vec<String>) -> Vec<String> {
    let mut seen = FxHashSet::default();
    ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
}

/// Whether a byte may sit right next to a code without the code being part of a longer token
/// (a version, an address, a time, an amount).
fn joins_code(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'$' | b'#' | b'/' | b'_')
}

/// Whether what follows a code at `end` ends it (a sentence's full stop does).
fn code_ends_at(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => true,
        Some(b'.') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        Some(b':') => true,
        Some(&b) => !joins_code(b),
    }
}

/// Whether `code` is exactly an enhanced status code (RFC 3463): `class.subject.detail`, class
/// 2, 4 or 5, subject and detail of one to three digits.
fn is_enhanced_code(code: &str) -> bool {
    enhanced_code_end(code.as_bytes(), 0) == Some(code.len())
}

/// The end of an enhanced status code starting at `start`, if one does.
fn enhanced_code_end(bytes: &[u8], start: usize) -> Option<usize> {
    if !matches!(bytes.get(start), Some(b'2' | b'4' | b'5')) {
        return None;
    }
    let mut i = start + 1;
    for _ in 0..2 {
        if bytes.get(i) != Some(&b'.') {
            return None;
        }
        i += 1;
        let digits_start = i;
        while i - digits_start < 3 && bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return None;
        }
    }
    (!bytes.get(i).is_some_and(u8::is_ascii_digit)).then_some(i)
}

/// Every enhanced status code (`5.1.1`) standing on its own in `text`, in order.
fn enhanced_codes(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut codes = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_token = i == 0 || !bytes.get(i - 1).is_some_and(|b| joins_code(*b));
        if starts_token
            && let Some(end) = enhanced_code_end(bytes, i)
            && code_ends_at(bytes, end)
            && let Some(code) = text.get(i..end)
        {
            codes.push(code);
            i = end;
            continue;
        }
        i += 1;
    }
    codes
}

/// Every SMTP reply code (`550`, `451`: 2xx, 4xx or 5xx, second digit 0-5) standing on its own
/// in `text`, in order; `550-5.1.1` (a multi-line reply) counts.
fn reply_codes(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut codes = Vec::new();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let starts_token = i == 0 || !bytes.get(i - 1).is_some_and(|b| joins_code(*b));
        let is_code = matches!(bytes.get(i), Some(b'2' | b'4' | b'5'))
            && matches!(bytes.get(i + 1), Some(b'0'..=b'5'))
            && bytes.get(i + 2).is_some_and(u8::is_ascii_digit);
        if starts_token
            && is_code
            && !matches!(bytes.get(i + 3), Some(b'.' | b':'))
            && code_ends_at(bytes, i + 3)
            && let Some(code) = text.get(i..i + 3)
        {
            codes.push(code);
            i += 3;
            continue;
        }
        i += 1;
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce(raw: &str) -> Bounce {
        match classify(raw.as_bytes()) {
            Inbound::Bounce(bounce) => bounce,
            other => panic!("expected a bounce, got {other:?}"),
        }
    }

    fn reply_of(raw: &str) -> Reply {
        match classify(raw.as_bytes()) {
            Inbound::Reply(reply) => reply,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    const GMAIL_REPLY: &str = "\
Delivered-To: sam@yourco.example\r\n\
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])\r\n\
\x20       by mx.yourco.example (Postfix) with ESMTPS id 7A1B2C3D4E\r\n\
\x20       for <sam@yourco.example>; Tue,  3 Jun 2025 10:14:09 +0200 (CEST)\r\n\
Return-Path: <dana.lee@gmail.com>\r\n\
MIME-Version: 1.0\r\n\
References: <send-41.leadflow@yourco.example>\r\n\
\x20<send-42.leadflow@yourco.example>\r\n\
In-Reply-To: <send-42.leadflow@yourco.example>\r\n\
From: Dana Lee <Dana.Lee@Gmail.com>\r\n\
Date: Tue, 3 Jun 2025 10:14:07 +0200\r\n\
Message-ID: <CAF3xkq9w+7dT2mZ1=Qb5pXv_Lk0@mail.gmail.com>\r\n\
Subject: Re: Your demo of Leadflow\r\n\
To: Sam from YourCo <sam@yourco.example>\r\n\
Content-Type: multipart/alternative; boundary=\"000000000000a1b2c3d4e5f60718\"\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
\r\n\
Hi Sam,\r\n\
\r\n\
Thursday at 2pm works for me. Can you send an invite?\r\n\
\r\n\
Dana\r\n\
\r\n\
On Mon, Jun 2, 2025 at 9:00 AM Sam from YourCo <sam@yourco.example> wrote:\r\n\
> Hi Dana,\r\n\
>\r\n\
> Would a 20-minute demo next week be useful? Reply with a time that suits you.\r\n\
>\r\n\
> Sam\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718\r\n\
Content-Type: text/html; charset=\"UTF-8\"\r\n\
\r\n\
<div dir=\"ltr\">Hi Sam,<div><br></div><div>Thursday at 2pm works for me. Can you send an invite?</div>\r\n\
<div><br></div><div>Dana</div></div><br><div class=\"gmail_quote\"><blockquote class=\"gmail_quote\">\r\n\
Hi Dana,<br>Would a 20-minute demo next week be useful?</blockquote></div>\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718--\r\n";

    const OUTLOOK_AUTOMATIC_REPLY: &str = "\
Received: from AM6PR04MB5678.eurprd04.prod.outlook.com (2603:10a6:20b:f0::19) by\r\n\
\x20AM6PR04MB5678.eurprd04.prod.outlook.com with HTTPS; Tue, 3 Jun 2025 08:01:12 +0000\r\n\
From: Jonas Berg <Jonas.Berg@contoso.example>\r\n\
To: Sam from YourCo <sam@yourco.example>\r\n\
Subject: Automatic reply: Your demo of Leadflow\r\n\
Thread-Topic: Your demo of Leadflow\r\n\
Thread-Index: AQHZ1a2b3c4d5e6f7g8h9i0jAAAAAA==\r\n\
Date: Tue, 3 Jun 2025 08:01:12 +0000\r\n\
Message-ID: <AM6PR04MB5678A1B2C3D4E5F6A7B8C9D0E1F2@AM6PR04MB5678.eurprd04.prod.outlook.com>\r\n\
References: <send-77.leadflow@yourco.example>\r\n\
In-Reply-To: <send-77.leadflow@yourco.example>\r\n\
X-MS-Has-Attach:\r\n\
X-Auto-Response-Suppress: All\r\n\
X-MS-Exchange-Inbox-Rules-Loop: jonas.berg@contoso.example\r\n\
X-MS-TNEF-Correlator:\r\n\
auto-submitted: auto-replied\r\n\
Content-Type: text/plain; charset=\"us-ascii\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
MIME-Version: 1.0\r\n\
\r\n\
I am out of the office until June 10 with limited access to email. For urgent=\r\n\
\x20matters please contact office@contoso.example.\r\n";

    const VACATION_REPLY: &str = "\
Return-Path: <priya@fabrikam.example>\r\n\
Received: from mail.fabrikam.example (mail.fabrikam.example [192.0.2.10])\r\n\
\tby mx.yourco.example (Postfix) with ESMTP id 1F2E3D4C5B\r\n\
\tfor <sam@yourco.example>; Wed,  4 Jun 2025 07:30:02 +0200 (CEST)\r\n\
Date: Wed, 4 Jun 2025 07:30:01 +0200\r\n\
From: Priya Nair <priya@fabrikam.example>\r\n\
To: sam@yourco.example\r\n\
Subject: Re: Pricing for Fabrikam\r\n\
In-Reply-To: <send-105.leadflow@yourco.example>\r\n\
Precedence: auto_reply\r\n\
Message-ID: <20250604053001.GA4411@mail.fabrikam.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
I'm travelling until 16 June and will read your message when I'm back.\r\n\
\r\n\
Priya\r\n";

    const POSTFIX_DSN: &str = "\
Return-Path: <>\r\n\
Delivered-To: bounces+42@yourco.example\r\n\
Received: by mail.yourco.example (Postfix)\r\n\
\tid 4F1C21A0B3F; Tue,  3 Jun 2025 10:20:11 +0200 (CEST)\r\n\
Date: Tue,  3 Jun 2025 10:20:11 +0200 (CEST)\r\n\
From: MAILER-DAEMON@mail.yourco.example (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: bounces+42@yourco.example\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"4F1C21A0B3F.1748938811/mail.yourco.example\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
Message-Id: <20250603082011.4F1C21A0B3F@mail.yourco.example>\r\n\
\r\n\
This is a MIME-encapsulated message.\r\n\
\r\n\
--4F1C21A0B3F.1748938811/mail.yourco.example\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
This is the mail system at host mail.yourco.example.\r\n\
\r\n\
I'm sorry to have to inform you that your message could not\r\n\
be delivered to one or more recipients. It's attached below.\r\n\
\r\n\
For further assistance, please send mail to postmaster.\r\n\
\r\n\
If you do so, please include this problem report. You can\r\n\
delete your own text from the attached returned message.\r\n\
\r\n\
\x20                  The mail system\r\n\
\r\n\
<nobody@example.org>: host mx.example.org[203.0.113.25] said: 550 5.1.1\r\n\
\x20   <nobody@example.org>: Recipient address rejected: User unknown in virtual\r\n\
\x20   mailbox table (in reply to RCPT TO command)\r\n\
\r\n\
--4F1C21A0B3F.1748938811/mail.yourco.example\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.yourco.example\r\n\
X-Postfix-Queue-ID: 4F1C21A0B3F\r\n\
X-Postfix-Sender: rfc822; bounces+42@yourco.example\r\n\
Arrival-Date: Tue,  3 Jun 2025 10:20:09 +0200 (CEST)\r\n\
\r\n\
Final-Recipient: rfc822; Nobody@Example.org\r\n\
Original-Recipient: rfc822;nobody@example.org\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; mx.example.org\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\r\n\
\x20   rejected: User unknown in virtual mailbox table\r\n\
\r\n\
--4F1C21A0B3F.1748938811/mail.yourco.example\r\n\
Content-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Return-Path: <bounces+42@yourco.example>\r\n\
Received: from app.yourco.example (app.yourco.example [198.51.100.7])\r\n\
\tby mail.yourco.example (Postfix) with ESMTPSA id 4F1C21A0B3F\r\n\
\tfor <nobody@example.org>; Tue,  3 Jun 2025 10:20:09 +0200 (CEST)\r\n\
From: Sam from YourCo <sam@yourco.example>\r\n\
To: nobody@example.org\r\n\
Subject: Your demo of Leadflow\r\n\
Message-ID: <send-42.leadflow@yourco.example>\r\n\
Date: Tue, 03 Jun 2025 08:20:09 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
--4F1C21A0B3F.1748938811/mail.yourco.example--\r\n";

    const EXIM_DELAYED_DSN: &str = "\
Return-path: <>\r\n\
Envelope-to: bounces+58@yourco.example\r\n\
Received: from Debian-exim by mx1.hosting.example with local (Exim 4.96)\r\n\
\tid 1uMb3K-000Abc-2Q\r\n\
\tfor bounces+58@yourco.example; Wed, 04 Jun 2025 12:00:02 +0000\r\n\
Auto-Submitted: auto-replied\r\n\
From: Mail Delivery System <Mailer-Daemon@mx1.hosting.example>\r\n\
To: bounces+58@yourco.example\r\n\
References: <send-58.leadflow@yourco.example>\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=1749038402-eximdsn-1804289383\r\n\
MIME-Version: 1.0\r\n\
Subject: Warning: message 1uMaxQ-0009zz-1B delayed 24 hours\r\n\
Message-Id: <E1uMb3K-000Abc-2Q@mx1.hosting.example>\r\n\
Date: Wed, 04 Jun 2025 12:00:02 +0000\r\n\
\r\n\
--1749038402-eximdsn-1804289383\r\n\
Content-type: text/plain; charset=us-ascii\r\n\
\r\n\
This message was created automatically by mail delivery software.\r\n\
A message that you sent has not yet been delivered to one or more of its\r\n\
recipients after more than 24 hours on the queue on mx1.hosting.example.\r\n\
\r\n\
The message identifier is:     1uMaxQ-0009zz-1B\r\n\
The subject of the message is: Pricing for Fabrikam\r\n\
The date of the message is:    Tue, 03 Jun 2025 11:58:40 +0000\r\n\
\r\n\
The address to which the message has not yet been delivered is:\r\n\
\r\n\
\x20 ops@fabrikam.example\r\n\
\x20   host mx.fabrikam.example [192.0.2.44]\r\n\
\x20   Delay reason: SMTP error from remote mail server after RCPT TO:<ops@fabrikam.example>:\r\n\
\x20   451 4.4.7 Temporary server error. Please try again later\r\n\
\r\n\
No action is required on your part. Delivery attempts will continue for\r\n\
some time, and this warning may be repeated at intervals if the message\r\n\
remains undelivered. Eventually the mail delivery software will give up,\r\n\
and when that happens, the message will be returned to you.\r\n\
\r\n\
--1749038402-eximdsn-1804289383\r\n\
Content-type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx1.hosting.example\r\n\
\r\n\
Action: delayed\r\n\
Final-Recipient: rfc822;ops@fabrikam.example\r\n\
Status: 4.4.7\r\n\
Remote-MTA: dns; mx.fabrikam.example\r\n\
X-Remote-MTA-smtp-greeting: X-str; 220 mx.fabrikam.example ESMTP\r\n\
Diagnostic-Code: smtp; 451 4.4.7 Temporary server error. Please try again later\r\n\
Will-Retry-Until: Sat, 07 Jun 2025 11:58:40 +0000\r\n\
\r\n\
--1749038402-eximdsn-1804289383\r\n\
Content-type: text/rfc822-headers\r\n\
\r\n\
Return-path: <bounces+58@yourco.example>\r\n\
Received: from [198.51.100.7] (helo=app.yourco.example)\r\n\
\tby mx1.hosting.example with esmtps (TLS1.3) (Exim 4.96)\r\n\
\tid 1uMaxQ-0009zz-1B\r\n\
\tfor ops@fabrikam.example; Tue, 03 Jun 2025 11:58:40 +0000\r\n\
Message-ID: <send-58.leadflow@yourco.example>\r\n\
From: Sam from YourCo <sam@yourco.example>\r\n\
To: ops@fabrikam.example\r\n\
Subject: Pricing for Fabrikam\r\n\
Date: Tue, 03 Jun 2025 11:58:40 +0000\r\n\
\r\n\
--1749038402-eximdsn-1804289383--\r\n";

    const DIAGNOSTIC_ONLY_DSN: &str = "\
Return-Path: <>\r\n\
From: postmaster@mail.contoso.example\r\n\
To: bounces+91@yourco.example\r\n\
Date: Thu, 5 Jun 2025 09:00:11 +0000\r\n\
Subject: Delivery Status Notification (Failure)\r\n\
Message-ID: <dsn-5c1e0@mail.contoso.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"=_dsn_5c1e0\"\r\n\
\r\n\
--=_dsn_5c1e0\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
The following message to <lena@contoso.example> was undeliverable.\r\n\
The reason for the problem:\r\n\
5.7.1 - rejected by the recipient's server\r\n\
\r\n\
--=_dsn_5c1e0\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns;mail.contoso.example\r\n\
Received-From-MTA: dns;app.yourco.example\r\n\
Arrival-Date: Thu, 5 Jun 2025 09:00:09 +0000\r\n\
\r\n\
Final-Recipient: rfc822;lena@contoso.example\r\n\
Action: failed\r\n\
Diagnostic-Code: smtp; 550 5.7.1 rejected\r\n\
\r\n\
--=_dsn_5c1e0\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Return-Path: <bounces+91@yourco.example>\r\n\
Message-ID: <send-91.leadflow@yourco.example>\r\n\
From: Sam from YourCo <sam@yourco.example>\r\n\
To: lena@contoso.example\r\n\
Subject: Your trial ends Friday\r\n\
Date: Thu, 05 Jun 2025 09:00:08 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hi Lena,\r\n\
\r\n\
your trial ends on Friday. Reply to this email if you would like more time.\r\n\
\r\n\
--=_dsn_5c1e0--\r\n";

    const MAILER_DAEMON_BOUNCE: &str = "\
Return-path: <>\r\n\
Envelope-to: bounces+63@yourco.example\r\n\
Received: from mailnull by smtp.oldhost.example with local (Exim 4.69)\r\n\
\tid 1uMcAa-0002Xy-Qq\r\n\
\tfor bounces+63@yourco.example; Wed, 04 Jun 2025 13:10:00 +0000\r\n\
X-Failed-Recipients: Tom@OldHost.example\r\n\
Auto-Submitted: auto-replied\r\n\
From: Mail Delivery System <MAILER-DAEMON@smtp.oldhost.example>\r\n\
To: bounces+63@yourco.example\r\n\
Subject: Mail delivery failed: returning message to sender\r\n\
Message-Id: <E1uMcAa-0002Xy-Qq@smtp.oldhost.example>\r\n\
Date: Wed, 04 Jun 2025 13:10:00 +0000\r\n\
\r\n\
This message was created automatically by mail delivery software.\r\n\
\r\n\
A message that you sent could not be delivered to one or more of its\r\n\
recipients. This is a permanent error. The following address(es) failed:\r\n\
\r\n\
\x20 tom@oldhost.example\r\n\
\x20   SMTP error from remote mail server after RCPT TO:<tom@oldhost.example>:\r\n\
\x20   host mx.oldhost.example [198.51.100.80]: 550 No such user here\r\n\
\r\n\
------ This is a copy of the message, including all the headers. ------\r\n\
\r\n\
Return-path: <bounces+63@yourco.example>\r\n\
Received: from [198.51.100.7] (helo=app.yourco.example)\r\n\
\tby smtp.oldhost.example with esmtp (Exim 4.69)\r\n\
\tid 1uMc9z-0002Xp-Ab\r\n\
\tfor tom@oldhost.example; Wed, 04 Jun 2025 13:09:58 +0000\r\n\
Message-ID: <send-63.leadflow@yourco.example>\r\n\
From: Sam from YourCo <sam@yourco.example>\r\n\
To: tom@oldhost.example\r\n\
Subject: Quick question about your 554 stores\r\n\
Date: Wed, 04 Jun 2025 13:09:58 +0000\r\n\
\r\n\
Hi Tom,\r\n\
\r\n\
do you still run the inventory for all 554 stores by hand?\r\n\
\r\n\
Sam\r\n";

    const ARF_COMPLAINT: &str = "\
Return-Path: <feedback@arf.mailbox.example>\r\n\
Received: from arf.mailbox.example (arf.mailbox.example [203.0.113.9])\r\n\
\tby mx.yourco.example (Postfix) with ESMTPS id 9C8B7A6F5E\r\n\
\tfor <abuse@yourco.example>; Thu,  5 Jun 2025 11:12:50 +0200 (CEST)\r\n\
From: Mailbox Feedback <feedback@arf.mailbox.example>\r\n\
To: abuse@yourco.example\r\n\
Subject: Email Feedback Report for IP 198.51.100.7\r\n\
Date: Thu, 05 Jun 2025 09:12:49 +0000\r\n\
Message-ID: <arf-20250605-771@arf.mailbox.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report;\r\n\
\tboundary=\"----=_Part_arf_771\"\r\n\
\r\n\
------=_Part_arf_771\r\n\
Content-Type: text/plain; charset=\"US-ASCII\"\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
This is an email abuse report for an email message received from IP\r\n\
198.51.100.7 on Thu, 05 Jun 2025 09:12:44 +0000.\r\n\
\r\n\
------=_Part_arf_771\r\n\
Content-Type: message/feedback-report\r\n\
\r\n\
Feedback-Type: abuse\r\n\
User-Agent: MailboxFBL/2.1\r\n\
Version: 1\r\n\
Original-Mail-From: <bounces+77@yourco.example>\r\n\
Original-Rcpt-To: <Kim@Mailbox.example>\r\n\
Arrival-Date: Thu, 05 Jun 2025 09:12:44 +0000\r\n\
Source-IP: 198.51.100.7\r\n\
Reported-Domain: yourco.example\r\n\
\r\n\
------=_Part_arf_771\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: inline\r\n\
\r\n\
Return-Path: <bounces+77@yourco.example>\r\n\
Message-ID: <send-77.leadflow@yourco.example>\r\n\
From: Sam from YourCo <sam@yourco.example>\r\n\
To: kim@mailbox.example\r\n\
Subject: Your demo of Leadflow\r\n\
Date: Thu, 05 Jun 2025 09:12:40 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hi Kim, would a demo next week be useful?\r\n\
\r\n\
------=_Part_arf_771--\r\n";

    const NEWSLETTER: &str = "\
Return-Path: <bounce-7781@news.vendor.example>\r\n\
From: Vendor Weekly <news@vendor.example>\r\n\
To: sam@yourco.example\r\n\
Subject: This week: 5 ways to grow your pipeline\r\n\
Date: Fri, 06 Jun 2025 06:00:00 +0000\r\n\
Message-ID: <weekly-2025-23.7781@news.vendor.example>\r\n\
List-Unsubscribe: <https://news.vendor.example/u/7781>, <mailto:unsubscribe-7781@news.vendor.example>\r\n\
List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
Precedence: bulk\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><h1>5 ways to grow your pipeline</h1><p>Reply to this email to tell us what you think.</p></body></html>\r\n";

    #[test]
    fn gmail_reply_answers_our_email() {
        assert_eq!(
            reply_of(GMAIL_REPLY),
            Reply {
                from: Some("dana.lee@gmail.com".into()),
                answers: vec!["<send-42.leadflow@yourco.example>".into(), "<send-41.leadflow@yourco.example>".into()],
                automatic: false,
                subject: Some("Re: Your demo of Leadflow".into()),
            }
        );
    }

    #[test]
    fn outlook_automatic_reply_is_automatic() {
        assert_eq!(
            reply_of(OUTLOOK_AUTOMATIC_REPLY),
            Reply {
                from: Some("jonas.berg@contoso.example".into()),
                answers: vec!["<send-77.leadflow@yourco.example>".into()],
                automatic: true,
                subject: Some("Automatic reply: Your demo of Leadflow".into()),
            }
        );
    }

    #[test]
    fn vacation_reply_known_only_by_precedence_is_automatic() {
        assert_eq!(
            reply_of(VACATION_REPLY),
            Reply {
                from: Some("priya@fabrikam.example".into()),
                answers: vec!["<send-105.leadflow@yourco.example>".into()],
                automatic: true,
                subject: Some("Re: Pricing for Fabrikam".into()),
            }
        );
        // The same message without that header is a person's reply.
        let human = VACATION_REPLY.replace("Precedence: auto_reply\r\n", "");
        assert!(!reply_of(&human).automatic);
    }

    #[test]
    fn automatic_reply_signals() {
        let base = "From: a@b.example\r\nIn-Reply-To: <send-1.leadflow@yourco.example>\r\n";
        let cases = [
            ("Auto-Submitted: auto-generated\r\nSubject: Hello\r\n", true),
            ("Auto-Submitted: no\r\nSubject: Hello\r\n", false),
            ("X-Autoreply: yes\r\nSubject: Hello\r\n", true),
            ("X-Autorespond: Hello\r\nSubject: Hello\r\n", true),
            ("Precedence: junk\r\nSubject: Hello\r\n", true),
            ("Precedence: list\r\nSubject: Hello\r\n", false),
            ("X-Auto-Response-Suppress: DR, OOF\r\nSubject: OOO until Monday\r\n", true),
            ("X-Auto-Response-Suppress: All\r\nSubject: Re: Pricing\r\n", false),
            ("Subject: Out of Office: Pricing\r\n", true),
            ("Subject: AUTO: Pricing\r\n", true),
            ("Subject: Autoreply: Pricing\r\n", true),
            ("Subject: Abwesenheitsnotiz: Preise\r\n", true),
            ("Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_Tarifs?=\r\n", true),
            ("Subject: Re: Out of Office plans\r\n", false),
        ];
        for (headers, automatic) in cases {
            let raw = format!("{base}{headers}\r\nBody\r\n");
            assert_eq!(reply_of(&raw).automatic, automatic, "{headers}");
        }
    }

    #[test]
    fn reply_with_only_references_answers_newest_first() {
        let raw = "From: <Lee@Example.com>\r\nReferences: <a@x.example> <send-7.leadflow@yourco.example>\r\n\r\nok\r\n";
        assert_eq!(
            reply_of(raw),
            Reply {
                from: Some("lee@example.com".into()),
                answers: vec!["<send-7.leadflow@yourco.example>".into(), "<a@x.example>".into()],
                automatic: false,
                subject: None,
            }
        );
    }

    #[test]
    fn postfix_dsn_user_unknown_is_hard() {
        assert_eq!(
            bounce(POSTFIX_DSN),
            Bounce {
                kind: BounceKind::Hard,
                status: Some("5.1.1".into()),
                recipient: Some("nobody@example.org".into()),
                diagnostic: Some(
                    "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table"
                        .into()
                ),
                message_ids: vec!["<send-42.leadflow@yourco.example>".into()],
            }
        );
    }

    #[test]
    fn exim_delayed_dsn_is_soft() {
        assert_eq!(
            bounce(EXIM_DELAYED_DSN),
            Bounce {
                kind: BounceKind::Soft,
                status: Some("4.4.7".into()),
                recipient: Some("ops@fabrikam.example".into()),
                diagnostic: Some("451 4.4.7 Temporary server error. Please try again later".into()),
                message_ids: vec!["<send-58.leadflow@yourco.example>".into()],
            }
        );
    }

    #[test]
    fn dsn_with_only_a_diagnostic_code_uses_its_smtp_code() {
        assert_eq!(
            bounce(DIAGNOSTIC_ONLY_DSN),
            Bounce {
                kind: BounceKind::Hard,
                status: Some("5.7.1".into()),
                recipient: Some("lena@contoso.example".into()),
                diagnostic: Some("550 5.7.1 rejected".into()),
                message_ids: vec!["<send-91.leadflow@yourco.example>".into()],
            }
        );
        let temporary = DIAGNOSTIC_ONLY_DSN.replace("smtp; 550 5.7.1 rejected", "smtp; 421 try again later");
        assert_eq!(bounce(&temporary).kind, BounceKind::Soft);
        assert_eq!(bounce(&temporary).status, None);
    }

    #[test]
    fn dsn_without_any_status_is_soft() {
        let raw = DIAGNOSTIC_ONLY_DSN.replace("Diagnostic-Code: smtp; 550 5.7.1 rejected\r\n", "");
        assert_eq!(
            bounce(&raw),
            Bounce {
                kind: BounceKind::Soft,
                status: None,
                recipient: Some("lena@contoso.example".into()),
                diagnostic: None,
                message_ids: vec!["<send-91.leadflow@yourco.example>".into()],
            }
        );
    }

    #[test]
    fn dsn_reports_the_first_failed_recipient() {
        let blocks = "Final-Recipient: rfc822; first@example.net\r\n\
Action: delayed\r\n\
Status: 4.2.2\r\n\
\r\n\
Final-Recipient: rfc822; second@example.net\r\n\
Action: failed\r\n\
Status: 5.2.1 (mailbox disabled)\r\n\
\r\n\
Final-Recipient: rfc822; third@example.net\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n";
        let raw = POSTFIX_DSN.replace(
            "Final-Recipient: rfc822; Nobody@Example.org\r\n\
Original-Recipient: rfc822;nobody@example.org\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; mx.example.org\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\r\n\
\x20   rejected: User unknown in virtual mailbox table\r\n",
            blocks,
        );
        assert_eq!(
            bounce(&raw),
            Bounce {
                kind: BounceKind::Hard,
                status: Some("5.2.1".into()),
                recipient: Some("second@example.net".into()),
                diagnostic: None,
                message_ids: vec!["<send-42.leadflow@yourco.example>".into()],
            }
        );
    }

    #[test]
    fn success_dsn_is_other() {
        let raw = POSTFIX_DSN
            .replace("Action: failed\r\nStatus: 5.1.1\r\n", "Action: delivered\r\nStatus: 2.0.0\r\n")
            .replace("Diagnostic-Code: smtp; 550 5.1.1", "Diagnostic-Code: smtp; 250 2.0.0");
        assert_eq!(classify(raw.as_bytes()), Inbound::Other);
    }

    #[test]
    fn mailer_daemon_bounce_without_report() {
        assert_eq!(
            bounce(MAILER_DAEMON_BOUNCE),
            Bounce {
                kind: BounceKind::Hard,
                status: None,
                recipient: Some("tom@oldhost.example".into()),
                diagnostic: Some("host mx.oldhost.example [198.51.100.80]: 550 No such user here".into()),
                message_ids: vec!["<send-63.leadflow@yourco.example>".into()],
            }
        );
        // A temporary failure in the notice (the 554 in the quoted original proves nothing).
        let temporary = MAILER_DAEMON_BOUNCE
            .replace("550 No such user here", "452 4.2.2 Mailbox full, try again later")
            .replace("This is a permanent error. ", "");
        assert_eq!(
            bounce(&temporary),
            Bounce {
                kind: BounceKind::Soft,
                status: Some("4.2.2".into()),
                recipient: Some("tom@oldhost.example".into()),
                diagnostic: Some(
                    "host mx.oldhost.example [198.51.100.80]: 452 4.2.2 Mailbox full, try again later".into()
                ),
                message_ids: vec!["<send-63.leadflow@yourco.example>".into()],
            }
        );
    }

    #[test]
    fn postmaster_needs_a_delivery_subject() {
        let notice = "From: postmaster@mx.example.net\r\nSubject: Undeliverable: Pricing\r\n\r\n\
Delivery has failed to these recipients: ann@example.net\r\nRemote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'\r\n";
        let b = bounce(notice);
        assert_eq!((b.kind, b.status.as_deref()), (BounceKind::Hard, Some("5.1.10")));
        let person = "From: postmaster@smallbiz.example\r\nSubject: Re: Pricing\r\n\
In-Reply-To: <send-5.leadflow@yourco.example>\r\n\r\nYes please.\r\n";
        assert!(matches!(classify(person.as_bytes()), Inbound::Reply(_)));
    }

    #[test]
    fn arf_complaint() {
        assert_eq!(
            classify(ARF_COMPLAINT.as_bytes()),
            Inbound::Complaint {
                message_ids: vec!["<send-77.leadflow@yourco.example>".into()],
                recipient: Some("kim@mailbox.example".into()),
            }
        );
        let redacted = ARF_COMPLAINT.replace("Original-Rcpt-To: <Kim@Mailbox.example>\r\n", "");
        assert_eq!(
            classify(redacted.as_bytes()),
            Inbound::Complaint { message_ids: vec!["<send-77.leadflow@yourco.example>".into()], recipient: None }
        );
    }

    #[test]
    fn newsletter_is_other() {
        assert_eq!(classify(NEWSLETTER.as_bytes()), Inbound::Other);
    }

    #[test]
    fn read_receipt_is_an_automatic_reply() {
        let raw = "From: Kim <kim@mailbox.example>\r\nSubject: Read: Your demo of Leadflow\r\n\
References: <send-77.leadflow@yourco.example>\r\n\
Content-Type: multipart/report; report-type=disposition-notification; boundary=\"mdn\"\r\n\r\n\
--mdn\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n\
--mdn\r\nContent-Type: message/disposition-notification\r\n\r\n\
Final-Recipient: rfc822;kim@mailbox.example\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\
--mdn--\r\n";
        assert!(reply_of(raw).automatic);
    }

    #[test]
    fn verp_send_cases() {
        assert_eq!(verp_send("bounces+42@yourco.example", "yourco.example"), Some(42));
        assert_eq!(verp_send(" <bounces+42@yourco.example> ", "yourco.example"), Some(42));
        assert_eq!(verp_send("bounces+42@YourCo.Example", "yourco.example"), Some(42));
        assert_eq!(verp_send("bounces+42@yourco.example", "YOURCO.EXAMPLE"), Some(42));
        assert_eq!(verp_send("bounces+42@other.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+42@mail.yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+abc@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+0@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+042@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+-4@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+99999999999999999999@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("sales+42@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("xbounces+42@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces42@yourco.example", "yourco.example"), None);
        assert_eq!(verp_send("bounces+42", "yourco.example"), None);
        assert_eq!(verp_send("", ""), None);
    }

    #[test]
    fn code_scanners() {
        assert_eq!(enhanced_codes("550-5.1.1 The email account; 4.4.7."), ["5.1.1", "4.4.7"]);
        assert!(enhanced_codes("host 10.5.1.1 and v5.1.1 and 5.1.1.4 and 5.1").is_empty());
        assert_eq!(reply_codes("550-5.1.1 x 451 y"), ["550", "451"]);
        assert!(reply_codes("$550 5501 1550 10:55:00 port:554 198.51.100.80").is_empty());
        assert_eq!(message_ids("<a@b> <> <nope> < x@y> <c@d"), ["<a@b>"]);
    }

    /// A tiny deterministic generator (xorshift64*), so the garbage test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let samples = [
            GMAIL_REPLY,
            OUTLOOK_AUTOMATIC_REPLY,
            VACATION_REPLY,
            POSTFIX_DSN,
            EXIM_DELAYED_DSN,
            DIAGNOSTIC_ONLY_DSN,
            MAILER_DAEMON_BOUNCE,
            ARF_COMPLAINT,
            NEWSLETTER,
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Every sample cut short at many points.
        for sample in samples {
            let bytes = sample.as_bytes();
            for cut in (0..bytes.len()).step_by(7) {
                classify(&bytes[..cut]);
            }
        }
        // Samples with random bytes overwritten, inserted or deleted (invalid UTF-8 included).
        const SPECIAL: &[u8] = b"\r\n:;<>@-=\"\t \x00\xff\xc3";
        for round in 0..3000 {
            let mut bytes = samples[round % samples.len()].as_bytes().to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                let byte = if rng.below(2) == 0 { SPECIAL[rng.below(SPECIAL.len())] } else { rng.next() as u8 };
                match rng.below(3) {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            classify(&bytes);
        }
        // Pure noise, biased towards the characters that structure mail.
        for _ in 0..2000 {
            let len = rng.below(600);
            let bytes: Vec<u8> = (0..len)
                .map(|_| if rng.below(3) == 0 { SPECIAL[rng.below(SPECIAL.len())] } else { rng.next() as u8 })
                .collect();
            classify(&bytes);
        }
        // Degenerate and huge inputs.
        assert_eq!(classify(b""), Inbound::Other);
        assert_eq!(classify(b"\r\n\r\n"), Inbound::Other);
        let long_subject =
            format!("From: a@b.example\r\nIn-Reply-To: <x@y>\r\nSubject: {}\r\n\r\nhi\r\n", "é".repeat(500_000));
        assert!(matches!(classify(long_subject.as_bytes()), Inbound::Reply(_)));
        let many_headers =
            format!("{}From: MAILER-DAEMON@x.example\r\n\r\n550 5.1.1\r\n", "X-Junk: y\r\n".repeat(50_000));
        assert_eq!(bounce(&many_headers).kind, BounceKind::Hard);
        let deep = format!(
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n{}",
            "--b\r\nContent-Type: message/rfc822\r\n\r\n".repeat(2_000)
        );
        classify(deep.as_bytes());
    }
}
