//! `leadflow do-not-contact ...`: the addresses nothing is sent to.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};
use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_engine::{DoNotContact, Engine};
use leadflow_store::{Backend, DoNotContactQuery};

use crate::output;

#[derive(Subcommand)]
pub enum DoNotContactCommand {
    /// List an address: an email address's running enrollments in sequences that send end at
    /// once, and nothing is sent to it after.
    Add {
        address: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
        #[arg(long, value_enum, default_value = "manual")]
        reason: ReasonArg,
        #[arg(long)]
        note: Option<String>,
    },
    /// Take an address off the list (enrollments it ended stay ended).
    Remove {
        address: String,
        #[arg(long, value_enum, default_value = "email")]
        channel: ChannelArg,
    },
    /// The list, in the order listed; of one address with `--address`.
    List {
        #[arg(long)]
        address: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ChannelArg {
    Email,
    Phone,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReasonArg {
    Unsubscribed,
    Bounced,
    Complained,
    Manual,
}

impl From<ChannelArg> for Channel {
    fn from(c: ChannelArg) -> Channel {
        match c {
            ChannelArg::Email => Channel::Email,
            ChannelArg::Phone => Channel::Phone,
        }
    }
}

impl From<ReasonArg> for SuppressionReason {
    fn from(r: ReasonArg) -> SuppressionReason {
        match r {
            ReasonArg::Unsubscribed => SuppressionReason::Unsubscribed,
            ReasonArg::Bounced => SuppressionReason::Bounced,
            ReasonArg::Complained => SuppressionReason::Complained,
            ReasonArg::Manual => SuppressionReason::Manual,
        }
    }
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: DoNotContactCommand) -> Result<ExitCode> {
    match command {
        DoNotContactCommand::Add { address, channel, reason, note } => {
            let listing = DoNotContact {
                address: &address,
                channel: channel.into(),
                reason: reason.into(),
                note: note.as_deref(),
                by: "cli",
            };
            let listed = engine.add_do_not_contact(&listing)?;
            let e = &listed.entry;
            if listed.added {
                println!("{} ({}) is on the do-not-contact list: {}", e.address, e.channel, e.reason);
            } else {
                println!("{} ({}) was on the list already: {} (kept)", e.address, e.channel, e.reason);
            }
            if listed.exited > 0 {
                println!("{} enrollment(s) ended", listed.exited);
            }
        }
        DoNotContactCommand::Remove { address, channel } => {
            if !engine.remove_do_not_contact(&address, channel.into())? {
                bail!("{address} is not on the {} list", Channel::from(channel));
            }
            println!("{address} is off the {} list", Channel::from(channel));
        }
        DoNotContactCommand::List { address, limit } => {
            let found = engine.do_not_contact(&DoNotContactQuery { address, after: None, limit })?;
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|e| {
                    vec![
                        e.address.clone(),
                        e.channel.to_string(),
                        e.reason.to_string(),
                        e.note.clone().unwrap_or_default(),
                        e.created_by.clone(),
                        e.created_at.to_string(),
                    ]
                })
                .collect();
            output::table(&["address", "channel", "reason", "note", "by", "listed"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
