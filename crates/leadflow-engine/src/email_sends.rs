//! Sending one planned email: the job the nurture scheduler queued for it.
//!
//! Right before it goes, the send is checked against the lead as it is now: the enrollment
//! still running (or ended by running out of steps), an address, not on the do-not-contact list, consent not withheld. It comes
//! from the lead's owner as they are now (a lead that changed hands gets the new owner's name,
//! address and replies), or from the team sender for an unowned lead; and the template's
//! active version as it is now.
//!
//! At most once: the send's row says whether it went, and is marked sent in the unit of work
//! that finishes the job, right after the mail server took it. A claimer that dies before the
//! server took the email leaves the job to be claimed again once its lease ends, and the email
//! goes then, once. A claimer that dies between the server taking it and the row being marked
//! (a window of one round trip to the database) is the one case in which a lead could get it
//! twice; its Message-ID is the same both times, which mail clients fold into one.

use leadflow_core::contact::{Channel, email_consent_withheld};
use leadflow_core::sequence::ExitCause;
use leadflow_core::template::{RenderInput, Sender, Template, track_html};
use leadflow_core::{LeadRef, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{JobOutcome, JobRecord, RuleFileKind, RuleFileRecord, SendRecord, SendStatus, SentEmail};

use crate::mail::{Mailbox, OutgoingEmail};
use crate::nurture::{NurtureSettings, end_enrollment, still_sending};
use crate::rule_files::parse_stored;
use crate::{Engine, EngineError};

/// What became of a send right before it would go.
enum Ready {
    /// Nothing to do: sent already, cancelled, or gone with its lead.
    Nothing,
    /// Not sent, and why; the enrollment ends too when `ends` says why.
    Cancel {
        why: String,
        ends: Option<String>,
    },
    Go {
        email: Box<OutgoingEmail>,
        template_version: i64,
    },
}

impl<S: Store> Engine<S> {
    /// Sends the email `job` names, if it is still to go: true when the job ended here, false
    /// when another claim holds it now. A temporary failure is an error (the job is retried).
    pub(crate) fn send_email(&mut self, job: &JobRecord, settings: &NurtureSettings) -> Result<bool, EngineError> {
        let send = send_of(job)?;
        let templates = self.store.active_rule_files(RuleFileKind::Template)?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let ready = match tx.send_now(send)? {
            Some(record) if record.status == SendStatus::Scheduled => prepare(&mut tx, &record, settings, &templates)?,
            _ => Ready::Nothing,
        };
        let email = match ready {
            Ready::Go { email, template_version } => (email, template_version),
            Ready::Nothing => return finish(tx, job, now),
            Ready::Cancel { why, ends } => {
                tx.end_send(send, SendStatus::Cancelled, &why)?;
                if let Some(reason) = ends {
                    let record = tx.send_now(send)?.expect("read above");
                    let active = tx.enrollments_now(record.lead, Some(&record.sequence))?;
                    if let Some(enrollment) = active.iter().find(|e| e.id == record.enrollment && e.is_active()) {
                        end_enrollment(&mut tx, enrollment, &reason, now)?;
                    }
                }
                return finish(tx, job, now);
            }
        };
        // Nothing is held while the mail server answers.
        drop(tx);
        let (email, template_version) = email;
        match settings.mailer.send(&email) {
            Ok(()) => {}
            Err(crate::MailError::Permanent(why)) => {
                let now = self.now();
                let mut tx = self.store.begin()?;
                tx.end_send(send, SendStatus::Failed, &why)?;
                return finish(tx, job, now);
            }
            Err(transient) => return Err(EngineError::Mail(transient)),
        }
        let now = self.now();
        let mut tx = self.store.begin()?;
        let sent = SentEmail {
            to: &email.to.address,
            from: &email.from.address,
            message_id: &email.message_id,
            template_version,
            at: now,
        };
        tx.mark_sent(send, &sent)?;
        // Marked sent even when another claim holds the job now: that claim then finds it sent.
        let finished = tx.finish_job(job.ticket(), &JobOutcome::Done, now)?;
        tx.commit()?;
        Ok(finished)
    }
}

/// The email a send would be now, or why it does not go.
fn prepare<T: Transaction>(
    tx: &mut T,
    send: &SendRecord,
    settings: &NurtureSettings,
    templates: &[RuleFileRecord],
) -> Result<Ready, EngineError> {
    let running = tx.enrollments_now(send.lead, Some(&send.sequence))?;
    if !running.iter().any(|e| e.id == send.enrollment && still_sending(e)) {
        return Ok(Ready::Cancel { why: "the enrollment ended before it went".into(), ends: None });
    }
    let Some(lead) = tx.lead(&LeadRef::Id(send.lead))? else { return Ok(Ready::Nothing) };
    let Some(address) = lead.profile.email.clone() else {
        return Ok(Ready::Cancel { why: "the lead has no email address".into(), ends: None });
    };
    if let Some(listed) = tx.do_not_contact_now(address.as_str(), Channel::Email)? {
        let cause = ExitCause::listed(listed.reason);
        let why = format!("the address is on the do-not-contact list ({})", listed.reason);
        return Ok(Ready::Cancel { why, ends: Some(cause.reason()) });
    }
    if email_consent_withheld(&lead.profile) {
        let why = format!("the lead withheld consent (custom.{})", leadflow_core::contact::EMAIL_CONSENT_FIELD);
        return Ok(Ready::Cancel { why, ends: None });
    }
    let record = templates.iter().find(|r| r.name == send.template);
    let Some(record) = record else {
        return Ok(Ready::Cancel { why: format!("template `{}` is not active", send.template), ends: None });
    };
    let template = parse_stored(record, Template::parse)?;
    let sender = sender_of(tx, lead.profile.owner.as_deref(), settings)?;
    let unsubscribe_url = settings.links.unsubscribe_url(send.id);
    let input = RenderInput { profile: &lead.profile, sender: &sender, unsubscribe_url: &unsubscribe_url };
    let rendered = template.render(&input)?;
    // Links in the HTML part count clicks, and a pixel counts opens; the unsubscribe link stays.
    let html = rendered.html.map(|html| {
        let click = |url: &str| (url != unsubscribe_url).then(|| settings.links.click_url(send.id, url));
        track_html(&html, click, &settings.links.open_url(send.id))
    });
    let from = Mailbox { name: Some(sender.name.clone()).filter(|n| !n.is_empty()), address: sender.email.clone() };
    let name = [lead.profile.first_name.as_deref(), lead.profile.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let email = OutgoingEmail {
        reply_to: from.clone(),
        from,
        to: Mailbox { name: Some(name).filter(|n| !n.is_empty()), address: address.as_str().to_string() },
        subject: rendered.subject,
        text: rendered.text,
        html,
        message_id: settings.links.message_id(send.id),
        return_path: settings.links.return_path(send.id),
        unsubscribe_url,
    };
    Ok(Ready::Go { email: Box::new(email), template_version: record.version.0 })
}

/// Who a lead's email comes from: its owner when that is a user with an address, else the
/// team sender.
fn sender_of<T: Transaction>(
    tx: &mut T,
    owner: Option<&str>,
    settings: &NurtureSettings,
) -> Result<Sender, EngineError> {
    let users = tx.users_now()?;
    let user = owner.and_then(|o| users.into_iter().find(|u| u.name().as_str() == o));
    Ok(match user.as_ref().and_then(|u| u.email().map(|e| (u, e))) {
        Some((user, email)) => {
            let name = user.display_name().unwrap_or(user.name().as_str()).to_string();
            // Their own, or their name and address.
            let signature = user.signature().map_or_else(|| format!("{name}\n{}", email.as_str()), str::to_string);
            Sender { name, email: email.as_str().to_string(), signature: Some(signature) }
        }
        None => settings.team_sender.clone(),
    })
}

/// The send a job's payload names.
fn send_of(job: &JobRecord) -> Result<i64, EngineError> {
    #[derive(serde::Deserialize)]
    struct Payload {
        send: i64,
    }
    serde_json::from_str::<Payload>(&job.payload)
        .map(|p| p.send)
        .map_err(|e| EngineError::Store(leadflow_store::StoreError::Corrupt(format!("job {}'s payload: {e}", job.id))))
}

/// Ends the job as done with what `tx` did.
fn finish<T: Transaction>(mut tx: T, job: &JobRecord, now: Timestamp) -> Result<bool, EngineError> {
    if !tx.finish_job(job.ticket(), &JobOutcome::Done, now)? {
        return Ok(false);
    }
    tx.commit()?;
    Ok(true)
}
