//! The authorization request's parameters as received (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), before
//! validation, and back as pairs for the forms that carry them.

/// Declares [`AuthorizeParams`] from one list of its single-valued parameters, named as on the wire:
/// the `carried` ones go back into the forms ([`AuthorizeParams::pairs`]), the `dropped` ones do
/// not; [`AuthorizeParams::NAMES`] and [`AuthorizeParams::set`] follow the same list.
macro_rules! authorize_params {
    (
        carried: [$($(#[$carried_doc:meta])* $carried:ident),* $(,)?],
        dropped: [$($(#[$dropped_doc:meta])* $dropped:ident),* $(,)?] $(,)?
    ) => {
        /// The parameters as received (from the query or a form), each at most once (`resource`
        /// may repeat).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct AuthorizeParams {
            $($(#[$carried_doc])* pub $carried: Option<String>,)*
            $($(#[$dropped_doc])* pub $dropped: Option<String>,)*
            /// `resource` (RFC 8707), repeatable.
            pub resources: Vec<String>,
            /// Whether a single-valued parameter was repeated (RFC 6749 §3.1: "MUST NOT be
            /// included more than once"), which is `invalid_request` once the redirect URI is
            /// trusted.
            pub repeated: bool,
        }

        impl AuthorizeParams {
            /// The names this request understands; others are ignored (OIDC Core §3.1.2.1 lets an
            /// OP ignore parameters it does not understand).
            pub const NAMES: [&'static str; 17] = [
                $(stringify!($carried),)*
                $(stringify!($dropped),)*
                "resource",
            ];

            /// Sets a single-valued parameter by name; false for an unknown name.
            pub fn set(&mut self, name: &str, value: String) -> bool {
                let slot = match name {
                    $(stringify!($carried) => &mut self.$carried,)*
                    $(stringify!($dropped) => &mut self.$dropped,)*
                    "resource" => {
                        self.resources.push(value);
                        return true;
                    }
                    _ => return false,
                };
                *slot = Some(value);
                true
            }

            /// The parameters as (name, value) pairs, to carry them through the login and consent
            /// forms. A request resolved from a pushed request (its `request_uri` is set, see
            /// `flow::pushed`) is carried by reference: `client_id` and `request_uri` only (RFC
            /// 9126 §4), so its parameters never pass through the browser.
            pub fn pairs(&self) -> Vec<(String, String)> {
                if let (Some(id), Some(uri)) = (&self.client_id, &self.request_uri) {
                    return vec![
                        ("client_id".to_owned(), id.clone()),
                        ("request_uri".to_owned(), uri.clone()),
                    ];
                }
                self.carried_pairs()
            }

            /// Every parameter but `request` and `request_uri` as (name, value) pairs: what a
            /// pushed request stores.
            pub fn carried_pairs(&self) -> Vec<(String, String)> {
                let single = [$((stringify!($carried), &self.$carried)),*];
                let mut out: Vec<(String, String)> = single
                    .into_iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
                    .collect();
                out.extend(
                    self.resources
                        .iter()
                        .map(|r| ("resource".to_owned(), r.clone())),
                );
                out
            }
        }
    };
}

authorize_params! {
    carried: [
        /// `response_type`.
        response_type,
        /// `client_id`.
        client_id,
        /// `redirect_uri`.
        redirect_uri,
        /// `scope`.
        scope,
        /// `state`.
        state,
        /// `nonce`.
        nonce,
        /// `code_challenge` (RFC 7636 §4.3).
        code_challenge,
        /// `code_challenge_method`.
        code_challenge_method,
        /// `prompt`.
        prompt,
        /// `max_age`.
        max_age,
        /// `login_hint`.
        login_hint,
        /// `response_mode`.
        response_mode,
        /// `acr_values` (OIDC Core §3.1.2.1), see [`crate::domain::mfa::factor`].
        acr_values,
        /// `dpop_jkt` (RFC 9449 §10): the thumbprint of the DPoP key the code is bound to.
        dpop_jkt,
    ],
    dropped: [
        /// `request` (not supported).
        request,
        /// `request_uri` (not supported).
        request_uri,
    ],
}
