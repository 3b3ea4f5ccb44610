//! Users, with an optional password hash.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::table_migration;

table_migration! {
    Users {
        Id: string.primary_key(), Username: string_uniq, Email: string_null, DisplayName: string,
        PasswordHash: text_null, Disabled: boolean, CreatedAt: big_integer, UpdatedAt: big_integer,
    }
}
