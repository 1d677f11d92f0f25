//! The directory as it travels: each node publishes the entries it is the authority for (its
//! team's record and the teams it hosts, its country's cybercrime and standards entries; the
//! coordinator also the network's registries) as signed `directory-record` envelopes to the
//! whole network, and every node keeps the newest entry per (record, key).
//!
//! A receiver refuses an entry signed by a node that is not its authority
//! (`atalaya_core::directory::entry`), and one whose content does not pass the same checks the
//! authority ran before signing. Entries travel as TLP:GREEN: a team record holds member-only
//! fields (24/7 numbers, SIM3); what the public sees is projected from it at the portal.

use atalaya_core::directory::{self, DirectoryEntry, TeamRecord};
use atalaya_core::envelope::Payload;
use atalaya_core::{Audience, Envelope, EnvelopeKind, Timestamp, Tlp};
use atalaya_store::{DirectoryRow, StoreError};
use uuid::Uuid;

use crate::handler::{Accepted, Arrived, Context, Incoming, KindHandler, unexpected};
use crate::{Federation, FederationError, NodeEvent, Refusal};

/// Why an entry could not be published.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// This node is not the entry's authority.
    #[error(transparent)]
    NotAuthoritative(#[from] directory::AuthorityError),
    /// The entry is not well formed.
    #[error("{message}")]
    Invalid {
        /// Stable code of the first problem.
        code: &'static str,
        /// Every problem, one per line.
        message: String,
    },
    /// Publishing failed.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An entry just published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedEntry {
    /// Its envelope.
    pub envelope: Uuid,
    /// The peers it was queued for.
    pub recipients: Vec<atalaya_core::NodeId>,
}

/// Check an entry's content as of `today` (the day its envelope was created, at a receiver).
pub fn check_entry(entry: &DirectoryEntry, now: Timestamp) -> Result<(), DirectoryError> {
    entry
        .check_content(directory::Day::of(now))
        .map_err(|problems| DirectoryError::Invalid {
            code: problems.first().map_or("invalid", |p| p.code),
            message: problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("\n"),
        })
}

impl Federation {
    /// Publish a directory entry this node is the authority for: checked, signed, stored here
    /// as the current entry, and queued for every peer.
    pub async fn publish_directory_entry(
        &self,
        entry: DirectoryEntry,
    ) -> Result<PublishedEntry, DirectoryError> {
        let view = self.roster();
        if view.member(&self.me).is_none() {
            return Err(FederationError::NotInRoster(self.me.clone()).into());
        }
        entry.check_authority(&self.me, &view.roster)?;
        check_entry(&entry, self.now())?;
        let body =
            serde_json::to_value(&entry).map_err(|e| FederationError::Signing(e.to_string()))?;
        let envelope = self.envelope_from_me(
            EnvelopeKind::DirectoryRecord,
            Tlp::Green,
            Audience::Network,
            Vec::new(),
            body,
        );
        Envelope::from_object(envelope.to_object()).map_err(|e| DirectoryError::Invalid {
            code: e.code(),
            message: e.to_string(),
        })?;
        let recipients = self.publish_envelope(&envelope, None).await?;
        keep_entry(
            &Context::new(self),
            &entry,
            &self.me,
            envelope.created,
            envelope.id,
        )
        .await?;
        tracing::info!(record = entry.key().record, key = %entry.key().key, recipients = recipients.len(), "directory entry published");
        Ok(PublishedEntry {
            envelope: envelope.id,
            recipients,
        })
    }

    /// Every team record this node holds, in id order.
    pub async fn teams(&self) -> Result<Vec<TeamRecord>, StoreError> {
        let rows = self.store.directory_entries("team").await?;
        let mut teams = Vec::with_capacity(rows.len());
        for row in rows {
            match serde_json::from_str::<DirectoryEntry>(&row.body) {
                Ok(DirectoryEntry::Team(t)) => teams.push(*t),
                _ => return Err(StoreError::Corrupt(format!("directory entry {}", row.key))),
            }
        }
        Ok(teams)
    }

    /// One team's record.
    pub async fn team(&self, id: &str) -> Result<Option<TeamRecord>, StoreError> {
        match self.store.directory_entry("team", id).await? {
            None => Ok(None),
            Some(row) => match serde_json::from_str::<DirectoryEntry>(&row.body) {
                Ok(DirectoryEntry::Team(t)) => Ok(Some(*t)),
                _ => Err(StoreError::Corrupt(format!("directory entry {}", row.key))),
            },
        }
    }

    /// Every entry of one record kind (`cybercrime`, `standards-adoption`, ...).
    pub async fn directory_entries(&self, record: &str) -> Result<Vec<DirectoryEntry>, StoreError> {
        self.store
            .directory_entries(record)
            .await?
            .into_iter()
            .map(|row| {
                serde_json::from_str::<DirectoryEntry>(&row.body)
                    .map_err(|e| StoreError::Corrupt(format!("directory entry {}: {e}", row.key)))
            })
            .collect()
    }
}

impl Federation {
    /// Every member state's cybercrime entry held here.
    pub async fn cybercrime_entries(
        &self,
    ) -> Result<Vec<directory::CountryCybercrime>, StoreError> {
        Ok(self
            .directory_entries("cybercrime")
            .await?
            .into_iter()
            .filter_map(|e| match e {
                DirectoryEntry::Cybercrime(c) => Some(*c),
                _ => None,
            })
            .collect())
    }

    /// Every member state's adoption of the recommended standards held here.
    pub async fn standards_adoptions(
        &self,
    ) -> Result<Vec<directory::StandardsAdoption>, StoreError> {
        Ok(self
            .directory_entries("standards-adoption")
            .await?
            .into_iter()
            .filter_map(|e| match e {
                DirectoryEntry::StandardsAdoption(a) => Some(*a),
                _ => None,
            })
            .collect())
    }

    /// The coordinator's registry of recommended standards, if it published one.
    pub async fn standards_registry(
        &self,
    ) -> Result<Option<directory::StandardsRegistry>, StoreError> {
        Ok(self
            .directory_entries("standards-registry")
            .await?
            .into_iter()
            .find_map(|e| match e {
                DirectoryEntry::StandardsRegistry(r) => Some(*r),
                _ => None,
            }))
    }
}

/// Keep an entry as the current one for its key if it is the newest.
async fn keep_entry(
    ctx: &Context<'_>,
    entry: &DirectoryEntry,
    authority: &atalaya_core::NodeId,
    created: Timestamp,
    envelope: Uuid,
) -> Result<bool, StoreError> {
    let key = entry.key();
    let body = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let current = ctx
        .store()
        .save_directory_entry(&DirectoryRow {
            record: key.record.to_owned(),
            key: key.key,
            authority: authority.clone(),
            created,
            envelope,
            body,
        })
        .await?;
    if current {
        ctx.notify(NodeEvent::Directory);
    }
    Ok(current)
}

/// Receives directory entries from their authorities.
pub(crate) struct DirectoryHandler;

#[async_trait::async_trait]
impl KindHandler for DirectoryHandler {
    type Item = DirectoryEntry;
    type Notes = ();

    fn kinds(&self) -> &'static [EnvelopeKind] {
        &[EnvelopeKind::DirectoryRecord]
    }

    /// Refuse a directory entry whose origin is not its authority, or whose content fails the
    /// checks its authority should have run.
    fn check(
        &self,
        ctx: &Context<'_>,
        incoming: Incoming<'_>,
    ) -> Result<Accepted<DirectoryEntry>, Refusal> {
        let env = incoming.envelope;
        let Payload::Directory(entry) = incoming.payload else {
            return Err(unexpected());
        };
        entry
            .check_authority(&env.origin, &ctx.roster().roster)
            .map_err(|e| Refusal::new(e.code(), e.to_string()))?;
        check_entry(&entry, env.created).map_err(|e| match e {
            DirectoryError::Invalid { code, message } => {
                Refusal::new("invalid_directory_entry", format!("{code}: {message}"))
            }
            other => Refusal::new("invalid_directory_entry", other.to_string()),
        })?;
        Ok(Accepted::new(*entry))
    }

    /// Keep each entry that is the newest for its key.
    async fn keep(
        &self,
        ctx: &Context<'_>,
        arrived: Vec<Arrived<DirectoryEntry>>,
        _: (),
    ) -> Result<(), FederationError> {
        for a in arrived {
            keep_entry(ctx, &a.item, &a.origin, a.created, a.id).await?;
        }
        Ok(())
    }
}
