//! Which bulletins are alerts, and the media type an alert is served with: shared by the CAP
//! writer ([`crate::cap`]) and the Atom feed of advisories ([`crate::atom`], which links each
//! alert), so that neither of the two imports the other for it.

use atalaya_core::bulletin::BulletinKind;

/// The media type CAP alerts are served with.
pub const CAP_MEDIA_TYPE: &str = "application/cap+xml";

/// Whether a bulletin of this kind becomes a CAP alert.
pub fn is_alert(kind: BulletinKind) -> bool {
    kind == BulletinKind::AttackWarning
}
