//! OAuth clients of the client-credentials grant.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table_migration;

table_migration! {
    Clients {
        ClientId: string.primary_key(), Name: string, SecretSha256: blob, Enabled: boolean,
        SigningAlg: string, AllowedScopes: text, DefaultScopes: text, AllowedResources: text,
        CreatedAt: big_integer, UpdatedAt: big_integer,
    }
}
