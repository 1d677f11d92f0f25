//! The right a handler needs, in its signature: `Need(auth, ..): Need<Publish>` extracts the
//! caller and refuses, before the handler runs, anyone who does not hold the right. The
//! refusals are the caller's own (401 `missing_token`, `invalid_token`, …, 403 `csrf_failed`
//! for a session without its CSRF token) and then 403 `forbidden`, exactly as
//! [`Principal::require`] gives them. The console's [`Officer`](crate::console::Officer) and
//! [`Posted`](crate::console::Posted) take the same marker (`Need<Publish, Posted>`), and
//! refuse with the console's error page.
//!
//! A right that depends on the record (the sharing policy, a directory entry's authority) is
//! still checked in the handler.

use std::marker::PhantomData;
use std::ops::Deref;

use atalaya_core::access::Permission;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::Principal;
use crate::{ApiError, AppState};

/// A right, as a type (see [`right`]).
pub trait Right: 'static {
    /// The permission it stands for.
    const PERMISSION: Permission;
}

/// The rights as types, one per [`Permission`].
pub mod right {
    use super::{Permission, Right};

    macro_rules! rights {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("[`Permission::", stringify!($name), "`] as a type.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Right for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*

        /// Every right that has a type, in [`Permission::ALL`]'s order.
        #[cfg(test)]
        pub(super) const TYPED: &[Permission] = &[$(<$name as Right>::PERMISSION),*];
        };
    }

    rights!(
        ReadBulletins,
        Publish,
        Retract,
        Acknowledge,
        Renotify,
        RunChecks,
        AnswerChecks,
        EditOnCall,
        EditPolicy,
        EditRoster,
        ManageUsers,
        ReadDirectory,
        EditDirectory,
        AnswerCensus,
        ManageCensus,
        EditPortal,
        ReadReports,
    );
}

/// A caller `T` (by default an API [`Principal`]) who holds the right `P`. Only the
/// extractors make one (the second field cannot be built elsewhere); handlers take it apart
/// with `Need(auth, ..)`.
pub struct Need<P, T = Principal>(pub T, pub Checked<P>);

/// Proof that the right `P` was checked.
pub struct Checked<P>(PhantomData<fn() -> P>);

impl<P> std::fmt::Debug for Checked<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checked")
    }
}

impl<P: Right, T> Need<P, T> {
    /// A caller already checked for `P`.
    pub(crate) fn checked(who: T) -> Self {
        Need(who, Checked(PhantomData))
    }

    /// The caller.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<P, T> Deref for Need<P, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<P: Right> FromRequestParts<AppState> for Need<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        who.require(P::PERMISSION)?;
        Ok(Need::checked(who))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_a_type() {
        assert_eq!(right::TYPED, Permission::ALL.as_slice());
    }
}
