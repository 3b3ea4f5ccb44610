//! A signing key and its lifecycle.

use sea_orm::entity::prelude::*;

/// One row of `signing_keys`.
///
/// `(alg, generation)` is unique: when two replicas both decide to create the next key for an
/// algorithm, the database lets exactly one of them do it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// RFC 7638 thumbprint of the public key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// 1 for the first key of an algorithm, then +1 per rotation.
    pub generation: i64,
    /// The public JWK, as served in the JWKS.
    pub public_jwk: String,
    /// PKCS#8 private key sealed with AES-256-GCM under the key-encryption key: nonce || ciphertext || tag.
    pub private_key_sealed: Vec<u8>,
    /// Identifies which key-encryption key sealed it (first bytes of its SHA-256).
    pub kek_id: String,
    /// When it appeared in the JWKS.
    pub published_at: i64,
    /// From this time it may sign (if it is the newest such key of its algorithm).
    pub activates_at: i64,
    /// When its successor takes over; `None` while it has none.
    pub retires_at: Option<i64>,
    /// When it leaves the JWKS: after every token it signed has expired.
    pub removed_at: Option<i64>,
    /// The associated data `private_key_sealed` was sealed with: 1 = `kid|alg` (rows from before
    /// migration m0007, re-sealed at the next reload), 2 = `kid|alg|` + the public key's RFC 7638
    /// canonical JSON.
    pub aad_version: i32,
    /// When an operator revoked it (`keys revoke`): it never signs or is published again, and
    /// `private_key_sealed` is emptied.
    pub revoked_at: Option<i64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

record_conversions!(crate::model::records::KeyRecord { kid, alg, generation, public_jwk, private_key_sealed, kek_id, published_at, activates_at, retires_at, removed_at, aad_version, revoked_at } words {  });
