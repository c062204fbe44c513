//! leadflow's SMTP adapter: the [`Mailer`] that hands nurture emails to a mail server.
//!
//! One [`SmtpMailer`] per server process keeps a pool of SMTP connections (lettre's), speaks
//! TLS (STARTTLS or implicit, verified against the web's root certificates) and authenticates
//! when given credentials. Every email is signed with DKIM when a key is given, over the
//! headers a receiver checks, the List-Unsubscribe pair among them (RFC 8058 asks for it), and
//! goes with the envelope sender of its send (the VERP return path), so that a bounce names the
//! send it answers. Sends are paced by a token bucket: at most `rate_per_second` on average,
//! with bursts of `burst`; a caller waits for its token rather than being refused.
//!
//! A 4xx answer, a connection that failed or timed out is temporary (the job is retried); a 5xx
//! answer is permanent.

mod bucket;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use leadflow_engine::{MailError, Mailbox, Mailer, OutgoingEmail};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, Message, SmtpTransport, Transport};

pub use bucket::TokenBucket;

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text: a relay on the same machine or network only.
    None,
    /// STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Security {
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "none" => Some(Security::None),
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            _ => None,
        }
    }
}

/// A DKIM key: `selector._domainkey.domain` publishes its public half.
#[derive(Clone)]
pub struct DkimKey {
    pub selector: String,
    pub domain: String,
    /// An RSA private key in PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`).
    pub private_key_pem: String,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey").field("selector", &self.selector).field("domain", &self.domain).finish()
    }
}

#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, when the server asks for them.
    pub credentials: Option<(String, String)>,
    pub dkim: Option<DkimKey>,
    /// Emails per second on average, across the process.
    pub rate_per_second: f64,
    /// How many may go at once after a quiet spell.
    pub burst: u32,
    /// Connections kept open.
    pub pool_size: u32,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("the DKIM key is not an RSA private key in PKCS#1 PEM: {0}")]
    DkimKey(String),
    #[error("the TLS settings for {host}: {error}")]
    Tls { host: String, error: String },
    #[error("a rate of {0} emails per second is not a positive number")]
    Rate(f64),
}

/// The headers a DKIM signature covers: what a receiver shows or acts on.
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

pub struct SmtpMailer {
    transport: SmtpTransport,
    dkim: Option<DkimConfig>,
    bucket: Mutex<TokenBucket>,
    started: Instant,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpMailer, SmtpSetupError> {
        if !(settings.rate_per_second > 0.0 && settings.rate_per_second.is_finite()) {
            return Err(SmtpSetupError::Rate(settings.rate_per_second));
        }
        let tls = |host: &str| {
            TlsParameters::new(host.to_string())
                .map_err(|e| SmtpSetupError::Tls { host: host.to_string(), error: e.to_string() })
        };
        let security = match settings.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls(&settings.host)?),
            Security::Tls => Tls::Wrapper(tls(&settings.host)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(security)
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(settings.pool_size.max(1)));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let dkim = settings
            .dkim
            .as_ref()
            .map(|key| {
                let signing = DkimSigningKey::new(&key.private_key_pem, DkimSigningAlgorithm::Rsa)
                    .map_err(|e| SmtpSetupError::DkimKey(e.to_string()))?;
                let headers = SIGNED_HEADERS.iter().map(|h| HeaderName::new_from_ascii_str(h)).collect();
                let canonicalization = DkimCanonicalization {
                    header: DkimCanonicalizationType::Relaxed,
                    body: DkimCanonicalizationType::Relaxed,
                };
                Ok(DkimConfig::new(key.selector.clone(), key.domain.clone(), signing, headers, canonicalization))
            })
            .transpose()?;
        let bucket = TokenBucket::new(settings.rate_per_second, settings.burst.max(1));
        Ok(SmtpMailer { transport: builder.build(), dkim, bucket: Mutex::new(bucket), started: Instant::now() })
    }

    /// Waits for this send's token.
    fn pace(&self) {
        let wait = {
            let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            bucket.take(self.started.elapsed())
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let mut message = message(email)?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        let to = address(&email.to.address)?;
        let envelope = lettre::address::Envelope::new(Some(address(&email.return_path)?), vec![to])
            .map_err(|e| MailError::Permanent(format!("the envelope: {e}")))?;
        self.pace();
        self.transport.send_raw(&envelope, &message.formatted()).map(drop).map_err(|e| {
            if e.is_permanent() { MailError::Permanent(e.to_string()) } else { MailError::Transient(e.to_string()) }
        })
    }
}

fn address(s: &str) -> Result<Address, MailError> {
    s.parse().map_err(|e| MailError::Permanent(format!("`{s}` is not an address: {e}")))
}

fn mailbox(m: &Mailbox) -> Result<lettre::message::Mailbox, MailError> {
    Ok(lettre::message::Mailbox::new(m.name.clone(), address(&m.address)?))
}

/// The MIME message of an email: plain text, and HTML beside it when there is some.
fn message(email: &OutgoingEmail) -> Result<Message, MailError> {
    let builder = Message::builder()
        .from(mailbox(&email.from)?)
        .reply_to(mailbox(&email.reply_to)?)
        .to(mailbox(&email.to)?)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", email.unsubscribe_url),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_string(),
        ));
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone());
    let built = match &email.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
        ),
        None => builder.singlepart(text),
    };
    built.map_err(|e| MailError::Permanent(format!("the message: {e}")))
}
