//! Audit events: who did what, stored in the transaction of the change they record, kept for
//! `audit.retention_days`.

use sea_orm_migration::{prelude::*, schema::*};

use super::kit::{TableIden, table_migration};

table_migration! {
    AuditEvents {
        Id: big_pk_auto, At: big_integer, EventType: string, ActorKind: string, ActorId: string_null,
        UserId: string_null, ClientId: string_null, Subject: string_null, ClientAddr: string_null,
        RequestId: string_null, Detail: text_null,
    }
    indexes: [
        AuditEvents::At.index("idx_audit_events_at"),
        AuditEvents::UserId.index("idx_audit_events_user"),
        AuditEvents::ClientId.index("idx_audit_events_client"),
    ]
}
