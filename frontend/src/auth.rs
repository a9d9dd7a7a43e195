//! Who is calling: user tokens, the operator's admin key, and revocation.
//!
//! Every booking request carries `Authorization: Bearer <token>`, a **PASETO v4.local** token
//! (the `pasetors` crate: XChaCha20 encryption and a BLAKE2b MAC under a 256-bit symmetric key,
//! [`TokenKey`]) whose claims say whose it is (`sub`, a canonical user ID), which token it is
//! (`jti`, 128 random bits in hex), when it was issued (`iat`, to the millisecond) and when it
//! expires (`exp`). The front end verifies it before anything else of the request is looked at
//! ([`Auth::authenticate`]): a token that does not decrypt under the key (forged, altered, made
//! under another cluster's key), that has expired, or that was revoked is refused with 401
//! `unauthenticated`. Its subject *is* the actor: `X-DMTBS-User` may still be sent, but must
//! name the same user (403 `wrong-user` otherwise).
//!
//! Verifying is symmetric crypto over ~200 bytes plus a small JSON parse: a few microseconds, no
//! lookup and no shared state but the revocation list (a read lock). The key is the one secret
//! every front end holds; it is derived from the cluster key unless the cluster file names one
//! of its own (`docs/security.md`, "Who may call").
//!
//! **Issuing and revoking** ([`crate::tokens`]) is an admin's business: the cluster operator's
//! admin key ([`AdminKey`]) may issue and revoke any user's tokens (it bootstraps each area's
//! admins); an area admin's own token may issue and revoke tokens of users of its area only.
//!
//! **Revocation** ([`Revocations`]) is a grow-only list — token IDs, and per user an instant
//! before which every token of that user is void (`dmtbs token revoke --user X`) — kept on disk
//! by every front end ([`Auth::with_store`]) and exchanged among the front ends of a cluster, so
//! it survives restarts and holds on every front end. Entries go once every token they could
//! match has expired ([`MAX_TTL`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use chrono::{DateTime, SecondsFormat, Utc};
use dmtbs_contract::Operation;
use pasetors::claims::{Claims, ClaimsValidationRules};
use pasetors::keys::SymmetricKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::V4;
use pasetors::{Local, local};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::{ApiError, USER_HEADER};
use crate::validate;

/// Bound into every token (PASETO's implicit assertion): a token made for anything else under
/// the same key never verifies as a DMTBS user token, and a later format changes it.
const PURPOSE: &[u8] = b"dmtbs user token v1";
/// The longest a token may live: issuing refuses longer, and revocation entries older than this
/// are forgotten (every token they could match has expired).
pub const MAX_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// A token's life when the issuer names none.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How far a token's issue time may lie ahead of this front end's clock (front ends on
/// different hosts): beyond it the token is refused as not yet valid.
const CLOCK_SKEW_MS: u64 = 60_000;

/// The cluster's admin key: the operator's credential (operator API, issuing and revoking any
/// user's tokens). Only its SHA-256 digest is kept; presented keys are hashed and the digests
/// compared in constant time, so the comparison time reveals neither the key's content nor its
/// length.
#[derive(Clone)]
pub struct AdminKey {
    /// SHA-256 of the key.
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

impl AdminKey {
    /// The key the operator presents as `Authorization: Bearer <key>`.
    pub fn new(key: &str) -> Self {
        AdminKey {
            digest: Sha256::digest(key.as_bytes()).into(),
        }
    }

    /// Whether `presented` is the key (constant time in the key).
    pub fn verify(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let diff = presented
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

/// Why a token was refused. The messages name no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a DMTBS token (expected `v4.local.…`)")]
    Format,
    #[error("the token does not verify: altered, forged, or made under another cluster's key")]
    Invalid,
    #[error("the token has expired; ask an admin of your area for a new one (dmtbs token issue)")]
    Expired,
    #[error("the token is not valid yet (its issue time is ahead of this front end's clock)")]
    NotYetValid,
    #[error("the token was revoked; ask an admin of your area for a new one")]
    Revoked,
    #[error("the token's claims are malformed: {0}")]
    Claims(&'static str),
    #[error("cannot make a token: {0}")]
    Issue(String),
}

/// A verified token: whose it is and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The canonical user ID the token was issued for.
    pub user: String,
    /// The token's ID (`jti`): what a single revocation names.
    pub id: String,
    /// When it was issued, milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
    /// When it expires, milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

/// A token just made, and what it says.
#[derive(Clone)]
pub struct Issued {
    /// The token: a secret, for the user only.
    pub token: String,
    /// Its claims.
    pub credential: Credential,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"<redacted>")
            .field("credential", &self.credential)
            .finish()
    }
}

/// The key user tokens are made and verified with (PASETO v4.local, 256 bits).
#[derive(Clone)]
pub struct TokenKey {
    key: SymmetricKey<V4>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `ms` since the epoch as RFC 3339 in UTC, to the millisecond (`2026-12-07T10:02:03.456Z`).
pub fn rfc3339_ms(ms: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ms(text: &str) -> Option<u64> {
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

impl TokenKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        TokenKey {
            // 32 bytes is exactly what V4 local keys take.
            key: SymmetricKey::<V4>::from(bytes).expect("a v4.local key is 32 bytes"),
        }
    }

    /// The key derived from another 32-byte secret (the cluster key, when the cluster file
    /// names no token key of its own): HKDF-SHA256 with its own label, so the token key and the
    /// datagram keys derived from the same secret are unrelated.
    pub fn derive(secret: &[u8; 32]) -> Self {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, secret)
            .expand(b"dmtbs v1 user token key", &mut key)
            // 32 bytes is far below HKDF-SHA256's limit (255 × 32).
            .expect("a 32-byte HKDF output");
        Self::from_bytes(&key)
    }

    /// A token for `user` (a canonical user ID), issued now, valid for `ttl`.
    pub fn issue(&self, user: &str, ttl: Duration) -> Result<Issued, TokenError> {
        self.issue_at(user, SystemTime::now(), ttl)
    }

    /// A token for `user` issued at `issued_at` (tests make expired tokens with it).
    pub fn issue_at(
        &self,
        user: &str,
        issued_at: SystemTime,
        ttl: Duration,
    ) -> Result<Issued, TokenError> {
        let bad = |e: pasetors::errors::Error| TokenError::Issue(format!("{e:?}"));
        let issued_at_ms = millis(issued_at);
        let expires_at_ms = issued_at_ms.saturating_add(ttl.as_millis() as u64);
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut claims = Claims::new().map_err(bad)?;
        claims.subject(user).map_err(bad)?;
        claims.token_identifier(&id).map_err(bad)?;
        claims.issued_at(&rfc3339_ms(issued_at_ms)).map_err(bad)?;
        claims.not_before(&rfc3339_ms(issued_at_ms)).map_err(bad)?;
        claims.expiration(&rfc3339_ms(expires_at_ms)).map_err(bad)?;
        let token = local::encrypt(&self.key, &claims, None, Some(PURPOSE)).map_err(bad)?;
        Ok(Issued {
            token,
            credential: Credential {
                user: user.to_owned(),
                id,
                issued_at_ms,
                expires_at_ms,
            },
        })
    }

    /// The token's claims, if it was made under this key and has not expired. Revocation is
    /// [`Auth`]'s business.
    pub fn verify(&self, token: &str) -> Result<Credential, TokenError> {
        let untrusted =
            UntrustedToken::<Local, V4>::try_from(token).map_err(|_| TokenError::Format)?;
        let mut rules = ClaimsValidationRules::new();
        // Expiry and the issue time are checked below, to the millisecond and with a margin
        // for clocks of other hosts.
        rules.disable_valid_at();
        rules.allow_non_expiring();
        let trusted = local::decrypt(&self.key, &untrusted, &rules, None, Some(PURPOSE)).map_err(
            |e| match e {
                // pasetors checks `exp` itself once the token is authentic.
                pasetors::errors::Error::ClaimValidation(
                    pasetors::errors::ClaimValidationError::Exp,
                ) => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        let claims = trusted
            .payload_claims()
            .ok_or(TokenError::Claims("no claims"))?;
        let text = |name: &'static str| {
            claims
                .get_claim(name)
                .and_then(|v| v.as_str())
                .ok_or(TokenError::Claims(name))
        };
        let user = text("sub")?;
        if validate::user_id("sub", user).ok().as_deref() != Some(user) {
            return Err(TokenError::Claims("sub"));
        }
        let id = text("jti")?.to_owned();
        let issued_at_ms = parse_ms(text("iat")?).ok_or(TokenError::Claims("iat"))?;
        let expires_at_ms = parse_ms(text("exp")?).ok_or(TokenError::Claims("exp"))?;
        let now = millis(SystemTime::now());
        if now >= expires_at_ms {
            return Err(TokenError::Expired);
        }
        if issued_at_ms > now + CLOCK_SKEW_MS {
            return Err(TokenError::NotYetValid);
        }
        Ok(Credential {
            user: user.to_owned(),
            id,
            issued_at_ms,
            expires_at_ms,
        })
    }
}

/// Revoked tokens: a grow-only list, merged by union (and the later instant per user), so
/// front ends that exchange theirs in any order end up with the same list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Revocations {
    /// Per user: every token of theirs issued at or before this instant (ms) is void.
    #[serde(default)]
    pub users: BTreeMap<String, u64>,
    /// Single tokens, as `USER:token ID` ([`Revocations::token_entry`]), with the instant (ms)
    /// after which the entry is pointless (every token it could match has expired).
    #[serde(default)]
    pub tokens: BTreeMap<String, u64>,
}

impl Revocations {
    /// The key of a single token's entry: its user and ID, so an admin revoking by ID can only
    /// ever void a token of a user it may manage.
    pub fn token_entry(user: &str, id: &str) -> String {
        format!("{user}:{id}")
    }

    /// Whether `credential` is void.
    pub fn revokes(&self, credential: &Credential) -> bool {
        (!self.tokens.is_empty()
            && self
                .tokens
                .contains_key(&Self::token_entry(&credential.user, &credential.id)))
            || self
                .users
                .get(&credential.user)
                .is_some_and(|before| credential.issued_at_ms <= *before)
    }

    /// Takes in `other`'s entries; whether anything changed.
    pub fn merge(&mut self, other: &Revocations) -> bool {
        let mut changed = false;
        for (user, before) in &other.users {
            let entry = self.users.entry(user.clone()).or_insert(0);
            if *before > *entry {
                *entry = *before;
                changed = true;
            }
        }
        for (id, expires) in &other.tokens {
            if self.tokens.insert(id.clone(), *expires) != Some(*expires) {
                changed = true;
            }
        }
        changed
    }

    /// Forgets entries that can no longer match a live token.
    pub fn prune(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(MAX_TTL.as_millis() as u64);
        self.users.retain(|_, before| *before >= horizon);
        self.tokens.retain(|_, expires| *expires > now_ms);
    }
}

/// What the front end knows to authenticate callers.
pub struct Auth {
    /// The operator's key.
    admin_key: AdminKey,
    /// User tokens are verified (and issued) under it.
    tokens: TokenKey,
    /// Revoked tokens, read on every request.
    revocations: RwLock<Revocations>,
    /// Where the revocation list is kept (JSON, owner-only); none: in memory only (tests).
    store: Option<PathBuf>,
    /// Woken whenever the list changed here, so the list can be handed to the other front ends.
    changed: tokio::sync::Notify,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Authentication with a revocation list in memory only.
    pub fn new(admin_key: AdminKey, tokens: TokenKey) -> Self {
        Auth {
            admin_key,
            tokens,
            revocations: RwLock::new(Revocations::default()),
            store: None,
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Authentication whose revocation list is kept in `path` (read now if it exists; its folder
    /// is made owner-only).
    pub fn with_store(admin_key: AdminKey, tokens: TokenKey, path: &Path) -> std::io::Result<Self> {
        let mut list = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<Revocations>(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the revocation list {} is unreadable: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Revocations::default(),
            Err(e) => return Err(e),
        };
        list.prune(millis(SystemTime::now()));
        let mut auth = Auth::new(admin_key, tokens);
        auth.revocations = RwLock::new(list);
        auth.store = Some(path.to_owned());
        Ok(auth)
    }

    /// The operator's key.
    pub fn admin_key(&self) -> &AdminKey {
        &self.admin_key
    }

    /// The key tokens are issued under.
    pub fn token_key(&self) -> &TokenKey {
        &self.tokens
    }

    /// A copy of the revocation list.
    pub fn revocations(&self) -> Revocations {
        self.read().clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Revocations> {
        // A panic while holding the lock leaves a list that is still whole (merge only adds).
        self.revocations
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in `other` — kept on disk before it counts, so a revocation that was answered
    /// survives a restart. Whether anything changed.
    pub fn merge(&self, other: &Revocations) -> std::io::Result<bool> {
        let mut list = self
            .revocations
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut merged = list.clone();
        if !merged.merge(other) {
            return Ok(false);
        }
        merged.prune(millis(SystemTime::now()));
        if let Some(path) = &self.store {
            write_private(path, &serde_json::to_vec_pretty(&merged)?)?;
        }
        *list = merged;
        drop(list);
        self.changed.notify_one();
        Ok(true)
    }

    /// Resolves when the list changed here (for handing it on to the other front ends).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The credential of a bearer token, if it verifies and is not revoked.
    pub fn verify(&self, token: &str) -> Result<Credential, TokenError> {
        let credential = self.tokens.verify(token)?;
        if self.read().revokes(&credential) {
            return Err(TokenError::Revoked);
        }
        Ok(credential)
    }

    /// A booking request's caller: the credential of its bearer token, checked against
    /// `X-DMTBS-User` when that is sent. 401 without a valid token, 403 when the header names
    /// someone else.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Credential, ApiError> {
        let token = match bearer(headers) {
            Bearer::Missing => {
                return Err(ApiError::unauthenticated(
                    "booking requests need the caller's token: Authorization: Bearer <token> \
                     (an admin of your area issues it: dmtbs token issue)",
                ));
            }
            Bearer::Malformed => {
                return Err(ApiError::unauthenticated(
                    "the Authorization header must be `Bearer <token>`",
                ));
            }
            Bearer::Token(token) => token,
        };
        let credential = match self.verify(token) {
            Ok(credential) => credential,
            Err(TokenError::Format) if self.admin_key.verify(token) => {
                return Err(ApiError::unauthenticated(
                    "the cluster's admin key is for the operator API and for issuing tokens; \
                     booking requests need the caller's own token (dmtbs token issue)",
                ));
            }
            Err(e) => return Err(ApiError::unauthenticated(&e.to_string())),
        };
        if let Some(named) = headers.get(USER_HEADER) {
            let named = String::from_utf8_lossy(named.as_bytes());
            if !named.eq_ignore_ascii_case(&credential.user) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "wrong-user",
                    format!(
                        "the token is {}'s but X-DMTBS-User names {}: a token acts only for its \
                         own user",
                        credential.user,
                        validate::clip(&named)
                    ),
                ));
            }
        }
        Ok(credential)
    }
}

/// Whether a canonical operation stays within its actor's rights, as the front end checks
/// before sequencing (its actor is the token's user): a customer acts for itself only, an admin
/// adds and removes its own area's shows only (and acts for any customer). The replicas would
/// refuse the same with `not-authorized` (rules §4, checked right after the V step); refusing
/// here keeps a caller from spending sequence numbers, or learning anything, in another user's
/// name. Anything else the rules refuse (a customer calling an admin operation, an admin ID as
/// the customer) is left to them. `Err` says why, for the 403 answer.
pub fn within_scope(op: &Operation) -> Result<(), String> {
    let actor = validate::actor(op);
    let customer = match op {
        Operation::Book(o) => Some(&o.customer),
        Operation::Schedule(o) => Some(&o.customer),
        Operation::Cancel(o) => Some(&o.customer),
        Operation::Exchange(o) => Some(&o.customer),
        _ => None,
    };
    let show = match op {
        Operation::AddShow(o) => Some(&o.show_id),
        Operation::RemoveShow(o) => Some(&o.show_id),
        _ => None,
    };
    let area = actor.get(..3).unwrap_or(actor);
    if validate::is_admin(actor) {
        if let Some(show) = show
            && show.get(..3) != Some(area)
        {
            return Err(format!(
                "{actor} is an admin of {area}: it manages {area}'s shows only, not {show}"
            ));
        }
    } else if let Some(customer) = customer
        && customer != actor
    {
        return Err(format!(
            "the token is {actor}'s: it acts for {actor} only, not for {customer}"
        ));
    }
    Ok(())
}

/// Why the front end answers an operation without sequencing it, when its caller holds the
/// token of every well-formed user (as the test suites and the load generator do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSequenced {
    /// The actor is not a well-formed user ID: no token can name it (401).
    NoToken,
    /// A malformed value (422 with the rule's code, or 404 when it empties a path segment).
    Malformed(validate::Invalid),
    /// Outside the actor's rights ([`within_scope`]; 403 `not-authorized`).
    OutOfScope(String),
}

impl NotSequenced {
    /// Whether an answer's status fits.
    pub fn fits(&self, status: u16) -> bool {
        match self {
            NotSequenced::NoToken => status == 401,
            NotSequenced::Malformed(_) => matches!(status, 404 | 422),
            NotSequenced::OutOfScope(_) => status == 403,
        }
    }
}

/// The canonical operation the front end sequences for `op`, sent with its actor's token; or
/// why it answers without sequencing.
pub fn admit(op: &Operation) -> Result<Operation, NotSequenced> {
    if validate::user_id("actor", validate::actor(op)).is_err() {
        return Err(NotSequenced::NoToken);
    }
    let canonical = validate::canonicalise_operation(op).map_err(NotSequenced::Malformed)?;
    within_scope(&canonical).map_err(NotSequenced::OutOfScope)?;
    Ok(canonical)
}

/// What an `Authorization` header holds.
pub(crate) enum Bearer<'a> {
    Missing,
    Malformed,
    Token(&'a str),
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Bearer::Missing;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .map_or(Bearer::Malformed, Bearer::Token)
}

/// Writes `bytes` to `path` atomically (a temporary file, synced, renamed over it), owner-only;
/// the folder is made (owner-only) if missing.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        // The rename is durable once the folder is synced; a failure here is not worth more
        // than the rename already done.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::from_bytes(&[3; 32])
    }

    #[test]
    fn a_token_says_whose_it_is_and_nothing_else_verifies() {
        let issued = key().issue("ATWC0001", Duration::from_secs(60)).unwrap();
        assert!(issued.token.starts_with("v4.local."));
        let credential = key().verify(&issued.token).unwrap();
        assert_eq!(credential, issued.credential);
        assert_eq!(credential.user, "ATWC0001");
        assert_eq!(credential.id.len(), 32);
        // Another key, an altered byte anywhere, another purpose, an expired one: refused.
        let other = TokenKey::from_bytes(&[4; 32]);
        assert_eq!(other.verify(&issued.token), Err(TokenError::Invalid));
        let body = &issued.token["v4.local.".len()..];
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut altered: Vec<char> = body.chars().collect();
            altered[at] = if altered[at] == 'A' { 'B' } else { 'A' };
            let altered = format!("v4.local.{}", altered.into_iter().collect::<String>());
            assert!(key().verify(&altered).is_err(), "altered at {at}");
        }
        let mut claims = Claims::new().unwrap();
        claims.subject("ATWC0001").unwrap();
        let foreign = local::encrypt(&key().key, &claims, None, Some(b"something else")).unwrap();
        assert_eq!(key().verify(&foreign), Err(TokenError::Invalid));
        let old = SystemTime::now() - Duration::from_secs(120);
        let expired = key()
            .issue_at("ATWC0001", old, Duration::from_secs(60))
            .unwrap();
        assert_eq!(key().verify(&expired.token), Err(TokenError::Expired));
        assert_eq!(key().verify("s3cret"), Err(TokenError::Format));
        // A subject that is not a canonical user ID is refused even under the right key.
        let odd = key().issue("atwc0001", Duration::from_secs(60)).unwrap();
        assert_eq!(key().verify(&odd.token), Err(TokenError::Claims("sub")));
        // Debug shows no secret.
        assert!(!format!("{issued:?} {:?}", key()).contains(&issued.token));
    }

    #[test]
    fn verifying_is_cheap() {
        let token = key()
            .issue("ATWC0001", Duration::from_secs(60))
            .unwrap()
            .token;
        let auth = Auth::new(AdminKey::new("k"), key());
        let n = 2_000;
        let started = std::time::Instant::now();
        for _ in 0..n {
            auth.verify(&token).unwrap();
        }
        let each = started.elapsed() / n;
        println!("one verification: {each:?}");
        // Generous: a debug build on a loaded two-core machine (measured figures in
        // docs/security.md).
        assert!(each < Duration::from_micros(500), "{each:?}");
    }

    #[test]
    fn revocations_merge_in_any_order_and_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("dmtbs-auth-test-{}", std::process::id()));
        let path = dir.join("fe-1").join("revocations.json");
        let auth = Auth::with_store(AdminKey::new("k"), key(), &path).unwrap();
        let a = key().issue("ATWC0001", Duration::from_secs(60)).unwrap();
        let b = key().issue("ATWC0001", Duration::from_secs(60)).unwrap();
        let mut one = Revocations::default();
        one.tokens.insert(
            Revocations::token_entry("ATWC0001", &a.credential.id),
            a.credential.expires_at_ms,
        );
        assert!(auth.merge(&one).unwrap());
        assert!(!auth.merge(&one).unwrap(), "nothing new");
        assert_eq!(auth.verify(&a.token), Err(TokenError::Revoked));
        assert!(auth.verify(&b.token).is_ok());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // "Restarted": a new front end on the same file.
        let again = Auth::with_store(AdminKey::new("k"), key(), &path).unwrap();
        assert_eq!(again.verify(&a.token), Err(TokenError::Revoked));
        // Every token of a user issued until an instant; later ones pass.
        let mut all = Revocations::default();
        all.users
            .insert("ATWC0001".into(), b.credential.issued_at_ms);
        let mut merged = all.clone();
        assert!(merged.merge(&one));
        let mut other_order = one.clone();
        assert!(other_order.merge(&all));
        assert_eq!(merged, other_order);
        again.merge(&all).unwrap();
        assert_eq!(again.verify(&b.token), Err(TokenError::Revoked));
        std::thread::sleep(Duration::from_millis(2));
        let later = key().issue("ATWC0001", Duration::from_secs(60)).unwrap();
        assert!(again.verify(&later.token).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
