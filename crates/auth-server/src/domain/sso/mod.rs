//! Single sign-on: the authorization request, the SSO session, sign-in throttling, consent, PKCE,
//! ID-token claims, and verification of our own tokens.

pub mod backchannel;
pub mod claims;
pub mod device;
pub mod flow;
pub mod logout;
pub mod own_tokens;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod request;
pub mod sessions;
pub mod throttle;
pub mod tokens_admin;
