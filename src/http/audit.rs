//! The audit log (operator): every opening asked for and every change of who may open a door.

use super::AppState;
use super::error::{ApiError, AuthErrors, ErrorBody};
use super::extract::{Caller, Json, OPERATOR, Query, page_limit};
use super::views::{AuditEntryView, AuditHeadView, AuditPage};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(verify))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditAfter {
    /// Only entries with a higher `seq`; default 0, i.e. from the start.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, default 100; values over 1000 are taken as 1000.
    #[param(minimum = 1)]
    pub limit: Option<usize>,
}

/// The audit log, oldest first, a page at a time.
///
/// Roles: operator. Each entry's `hash` is SHA-256 over the previous entry's hash and this
/// entry, so an edited or deleted entry is found by `lockerd audit verify` (README.md, "Audit
/// log", gives the construction). Entries never carry a pickup code, token or secret.
///
/// `actor`: `role:name` of the token or courier session, `lockerd` for the daemon itself (start-up,
/// failover, grace periods, expiry, lockouts, inspection), `cli` for the command line (`lockerd
/// token create`, `kiosk pair`, `hw pulse`). Actions and their `detail`: `daemon.started`
/// (`config`, `config_sha256`, `compartments`, `buses`, `version`); `deposit.opening` (`parcel_id`,
/// `tracking_id`, `compartment`, and `size`, or `previous_compartment` and `cause` when lockerd
/// moves a deposit whose compartment did not open); `deposit.resize_opening` (adds
/// `previous_compartment`, `size`); `deposit.reopening`; `deposit.cancel` (adds `opens_door`);
/// `parcel.stored` (adds `cause`); `pickup.opening`; `return.opening`; `parcel.extended` (adds
/// `until`); `parcel.new_code` (adds `reason`); `parcel.expired` (the parcel's fields: `parcel_id`,
/// `tracking_id`, `compartment`); `maintenance.opening` (`compartment`, `reason`);
/// `compartment.disabled`, `compartment.enabled` (`compartment`, `reason`); `keypad.locked_out`
/// (`until`, `lockout_s`, `lockouts_in_a_row`); `keypad.unlocked` (`was_locked_until`, `failures`);
/// `courier.created`, `courier.removed` (`courier_id`, `name`); `courier.logged_in` (`courier_id`,
/// `expires_at`); `courier.logged_out` (`courier_id`); `token.created` (`name`, `role`);
/// `token.removed` (`name`, `role`, `links_cancelled`: its links not spent yet);
/// `reservation.created`, `reservation.replaced` (`tracking_id`, `size`, `expires_at`,
/// `has_code`, `photo`, `accessible`); `reservation.withdrawn` (`tracking_id`);
/// `reservation.lapsed` (`tracking_ids`); `sync.acked` (`seq_before`, `seq_after`: the pull agent's
/// acknowledgement moved, by the sync token named in `actor`); `kiosk.pairing_created` (`name`,
/// `expires_at`); `kiosk.paired` (`name`, `role`, `replaced`: a token of that name was taken
/// away); `console.link_created` (`name`, `expires_at`); `console.linked` (the same as
/// `kiosk.paired`); `security.mass_open` (`credential`, `scope`,
/// `limit`, `window_s`: door openings refused at a ceiling). Extension: `next`.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(AuditAfter),
    tag = "audit",
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "a page of entries", body = AuditPage),
        (status = 400, description = "`invalid_request`: a bad `after` or `limit`", body = ErrorBody),
        AuthErrors,
    )
)]
async fn audit(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
    Query(query): Query<AuditAfter>,
) -> Result<Json<AuditPage>, ApiError> {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        let msg = "invalid query: after: must be at least 0";
        return Err(ApiError::InvalidRequest(msg.to_owned()));
    }
    let limit = page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    // One more than asked tells whether another page follows.
    let mut entries = state.locker.audit_entries(after, limit + 1).await?;
    let next = match entries.len() > limit {
        true => {
            entries.truncate(limit);
            entries.last().map(|e| e.seq)
        }
        false => None,
    };
    Ok(Json(AuditPage {
        entries: entries.into_iter().map(AuditEntryView::from).collect(),
        next,
    }))
}

/// The audit chain checked now, with the storage it lives on.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyView {
    /// Every entry checks out: none was edited, deleted or inserted.
    pub intact: bool,
    /// Entries that check out, from the first.
    pub entries: usize,
    /// What is wrong with the first entry that does not check out; `null` when intact.
    pub broken: Option<String>,
    /// The newest entry (seq and hash), to compare with one recorded elsewhere earlier.
    pub head: Option<AuditHeadView>,
    /// The database's size in bytes.
    pub db_bytes: u64,
    /// Free and total bytes of the file system of `locker.state_dir`; `null` when it cannot
    /// be read.
    pub disk_free_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
}

/// Verify the audit chain now (extension).
///
/// Roles: operator. Recomputes every entry's hash from the first, as `lockerd audit verify`
/// does, in one read of the database (a long log holds other requests up for that read), and
/// says how large the database is and how much room its disk has left.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    security(("bearer" = ["operator"])),
    responses((status = 200, description = "the check", body = AuditVerifyView), AuthErrors)
)]
async fn verify(
    _: Caller<OPERATOR>,
    State(state): State<AppState>,
) -> Result<Json<AuditVerifyView>, ApiError> {
    let check = state.locker.verify_audit().await?;
    let db_bytes = state.locker.db_bytes().await?;
    let disk = disk_space(&state.locker.config().locker.state_dir);
    Ok(Json(AuditVerifyView {
        intact: check.broken.is_none(),
        entries: check.entries,
        broken: check.broken,
        head: check.head.map(|(seq, hash)| AuditHeadView {
            seq,
            hash: hex::encode(hash),
        }),
        db_bytes,
        disk_free_bytes: disk.map(|(free, _)| free),
        disk_total_bytes: disk.map(|(_, total)| total),
    }))
}

/// Free (to an unprivileged user) and total bytes of the file system holding `dir`.
fn disk_space(dir: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` is written by statvfs before it is
    // read, only when it answers 0.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    // The fields' widths differ between targets (32-bit on the Pi's armv7).
    #[allow(clippy::unnecessary_cast)]
    let (block, free, total) = (
        (stat.f_frsize as u64).max(1),
        stat.f_bavail as u64,
        stat.f_blocks as u64,
    );
    Some((free.saturating_mul(block), total.saturating_mul(block)))
}
