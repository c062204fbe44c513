//! `[server.mail]`: where nurture emails go out, and the rules they keep. Off while `smtp_host`
//! is empty: then no sequence runs and nothing is sent.

use std::sync::Arc;
use std::time::Duration;

use leadflow_core::sequence::{FrequencyCap, SendPolicy};
use leadflow_core::team::WorkingWeek;
use leadflow_core::template::Sender;
use leadflow_engine::{LinkError, MailLinks, NurtureSettings};
use leadflow_mail::{DkimKey, Security, SmtpMailer, SmtpSettings};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server (a relay such as Postfix, or a provider's). Empty: sequences do not run.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (required, port 587), `tls` (port 465) or `none` (a relay on this network).
    pub security: String,
    /// When the server asks for them.
    pub username: String,
    pub password: String,
    /// DKIM signing: the selector whose `<selector>._domainkey.<domain of from_address>` TXT
    /// record publishes the public key, and the RSA private key (PKCS#1 PEM) file. Both or
    /// neither.
    pub dkim_selector: String,
    pub dkim_key_file: Option<std::path::PathBuf>,
    /// Emails per second on average from this server, and how many may go at once.
    pub rate_per_second: f64,
    pub burst: u32,
    /// SMTP connections kept open.
    pub pool_size: u32,
    pub timeout_secs: u64,
    /// Who an unowned lead's emails come from; its domain names sends (Message-ID, the
    /// `bounces+ID@` return path) and signs them.
    pub from_name: String,
    pub from_address: String,
    /// This server as leads reach it (`https://lf.yourco.example`): unsubscribe links point there.
    pub public_url: String,
    /// Signs unsubscribe links: at least 32 characters.
    pub link_secret: String,
    /// When emails may go, in each lead's own time zone (days, then hours, as a user's week).
    pub send_hours: String,
    /// At most `max_per_lead` emails to a lead in any `per_days` days, from every sequence.
    pub max_per_lead: u32,
    pub per_days: u32,
    /// The zone of a lead without `custom.time_zone`.
    pub default_time_zone: String,
    /// How often the scheduler enrolls by rule and runs due steps.
    pub every_seconds: u64,
}

impl Default for MailConfig {
    fn default() -> MailConfig {
        MailConfig {
            smtp_host: String::new(),
            smtp_port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            dkim_selector: String::new(),
            dkim_key_file: None,
            rate_per_second: 10.0,
            burst: 10,
            pool_size: 4,
            timeout_secs: 30,
            from_name: String::new(),
            from_address: String::new(),
            public_url: String::new(),
            link_secret: String::new(),
            send_hours: "mon-fri 09:00-17:00".into(),
            max_per_lead: 3,
            per_days: 7,
            default_time_zone: "UTC".into(),
            every_seconds: 60,
        }
    }
}

impl MailConfig {
    /// What the nurture job runs with; `None` while mail is off. The error names the setting.
    pub fn nurture(&self) -> Result<Option<NurtureSettings>, String> {
        if self.smtp_host.trim().is_empty() {
            return Ok(None);
        }
        let at = |key: &str, e: &dyn std::fmt::Display| format!("server.mail.{key}: {e}");
        let security = Security::parse(&self.security)
            .ok_or_else(|| at("security", &format!("`{}` is not starttls, tls or none", self.security)))?;
        let from = leadflow_core::Email::parse(&self.from_address).map_err(|e| at("from_address", &e))?;
        let domain = from.domain().to_string();
        let dkim = match (self.dkim_selector.trim(), &self.dkim_key_file) {
            ("", None) => None,
            (selector, Some(file)) if !selector.is_empty() => {
                let pem = std::fs::read_to_string(file).map_err(|e| at("dkim_key_file", &e))?;
                Some(DkimKey { selector: selector.to_string(), domain: domain.clone(), private_key_pem: pem })
            }
            _ => return Err(at("dkim_selector", &"give both dkim_selector and dkim_key_file, or neither")),
        };
        let smtp = SmtpSettings {
            host: self.smtp_host.trim().to_string(),
            port: self.smtp_port,
            security,
            credentials: (!self.username.is_empty()).then(|| (self.username.clone(), self.password.clone())),
            dkim,
            rate_per_second: self.rate_per_second,
            burst: self.burst,
            pool_size: self.pool_size,
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
        };
        let mailer = SmtpMailer::new(&smtp).map_err(|e| at("smtp_host", &e))?;
        let links = MailLinks::new(&self.public_url, &domain, &self.link_secret).map_err(|e| match e {
            LinkError::WeakSecret => at("link_secret", &e),
            LinkError::BadBaseUrl(_) => at("public_url", &e),
        })?;
        let hours = WorkingWeek::parse(&self.send_hours).map_err(|e| at("send_hours", &e))?.weekly_hours();
        let zone =
            leadflow_core::calendar::parse_zone(&self.default_time_zone).map_err(|e| at("default_time_zone", &e))?;
        if self.per_days == 0 {
            return Err(at("per_days", &"a window of at least one day"));
        }
        let name = if self.from_name.trim().is_empty() { from.as_str().to_string() } else { self.from_name.clone() };
        Ok(Some(NurtureSettings {
            every: Duration::from_secs(self.every_seconds.max(1)),
            mailer: Arc::new(mailer),
            links,
            team_sender: Sender { name, email: from.as_str().to_string(), signature: None },
            policy: SendPolicy { cap: FrequencyCap { max: self.max_per_lead, days: self.per_days }, hours },
            default_zone: zone,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> MailConfig {
        MailConfig {
            smtp_host: "127.0.0.1".into(),
            security: "none".into(),
            from_address: "hello@yourco.example".into(),
            public_url: "https://lf.yourco.example".into(),
            link_secret: "x".repeat(32),
            ..MailConfig::default()
        }
    }

    #[test]
    fn mail_is_off_until_a_host_is_given() {
        assert!(MailConfig::default().nurture().unwrap().is_none());
        let settings = on().nurture().unwrap().expect("on");
        assert_eq!(settings.team_sender.email, "hello@yourco.example");
        assert_eq!(settings.policy.cap, FrequencyCap { max: 3, days: 7 });
        assert_eq!(settings.links.domain(), "yourco.example");
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases: [(MailConfig, &str); 7] = [
            (MailConfig { security: "ssl".into(), ..on() }, "server.mail.security"),
            (MailConfig { from_address: "nobody".into(), ..on() }, "server.mail.from_address"),
            (MailConfig { link_secret: "short".into(), ..on() }, "server.mail.link_secret"),
            (MailConfig { send_hours: "someday".into(), ..on() }, "server.mail.send_hours"),
            (MailConfig { default_time_zone: "Mars/Olympus".into(), ..on() }, "server.mail.default_time_zone"),
            (MailConfig { dkim_selector: "lf".into(), ..on() }, "server.mail.dkim_selector"),
            (MailConfig { public_url: "lf.yourco.example".into(), ..on() }, "server.mail.public_url"),
        ];
        for (config, key) in cases {
            let error = config.nurture().expect_err(key);
            assert!(error.starts_with(key), "{error}");
        }
    }
}
