//! `leadflow identities ...`: what a lead is reached through.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use leadflow_contract::LeadIdentities;
use leadflow_core::text::printable;
use leadflow_core::{Actor, Identity, PhoneRegion, Role};
use leadflow_engine::Engine;
use leadflow_store::Backend;

use crate::{output, parse_lead};

#[derive(Subcommand)]
pub enum IdentitiesCommand {
    /// A lead's emails, external ids, ids in other systems, phone numbers and website visitors.
    List {
        lead: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a lead more identities, each `kind:value`: `email:ana@home.example`,
    /// `salesforce:00Q5g000004XyZ1`, `phone:+44 20 7946 0958`.
    Add {
        lead: String,
        #[arg(required = true)]
        identities: Vec<String>,
        /// The country phone numbers without their country code are in (GB, US, ...).
        #[arg(long)]
        region: Option<String>,
    },
    /// Take identities from a lead (not its own email or external id: change those with
    /// `leads upsert`).
    Remove {
        lead: String,
        #[arg(required = true)]
        identities: Vec<String>,
    },
}

const CLI: Actor<'static> = Actor { role: Role::Admin, name: "" };

pub fn run<S: Backend>(engine: &mut Engine<S>, command: IdentitiesCommand) -> Result<ExitCode> {
    match command {
        IdentitiesCommand::List { lead, json } => {
            let listed = LeadIdentities::from(&engine.identities(&parse_lead(&lead)?)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut rows: Vec<Vec<String>> = listed
                .identities
                .iter()
                .map(|i| {
                    let place = if i.primary { "yes" } else { "" };
                    vec![i.kind.clone(), printable(&i.value).into_owned(), place.into(), i.added_at.to_string()]
                })
                .collect();
            rows.extend(
                listed
                    .visitors
                    .iter()
                    .map(|v| vec!["visitor".into(), v.visitor_id.clone(), String::new(), v.joined_at.to_string()]),
            );
            println!("lead {}", listed.lead_id);
            output::table(&["KIND", "VALUE", "OWN", "SINCE"], &rows);
        }
        IdentitiesCommand::Add { lead, identities, region } => {
            let lead = parse_lead(&lead)?;
            let region = region.as_deref().map(PhoneRegion::parse).transpose()?;
            for text in identities {
                let identity = Identity::parse_in(&text, region).with_context(|| format!("`{}`", printable(&text)))?;
                let added = engine.add_identity_as(&CLI, &lead, &identity)?;
                println!("{identity}: {}", if added { "added" } else { "the lead had it" });
            }
        }
        IdentitiesCommand::Remove { lead, identities } => {
            let lead = parse_lead(&lead)?;
            let mut missing = false;
            for text in identities {
                let identity = Identity::parse(&text).with_context(|| format!("`{}`", printable(&text)))?;
                let removed = engine.remove_identity_as(&CLI, &lead, &identity)?;
                missing |= !removed;
                println!("{identity}: {}", if removed { "removed" } else { "the lead did not have it" });
            }
            if missing {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
