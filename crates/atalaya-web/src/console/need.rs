//! [`Need`] for the console: a person with a complete session who holds the right, else the
//! console's 403 page; for a form, after its CSRF check.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;

use super::{Officer, Posted};
use crate::AppState;
use crate::auth::{Need, Right};

impl<P: Right> FromRequestParts<AppState> for Need<P, Officer> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let o = Officer::from_request_parts(parts, state).await?;
        o.require(P::PERMISSION)?;
        Ok(Need::checked(o))
    }
}

impl<P: Right> FromRequest<AppState> for Need<P, Posted> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let p = Posted::from_request(req, state).await?;
        p.officer.require(P::PERMISSION)?;
        Ok(Need::checked(p))
    }
}
