//! The OpenAPI 3.1 description of `/api/v1`, generated from the handlers' annotations
//! (`#[utoipa::path]` above each handler, `IntoParams` on their query types) and served at
//! `GET /api/v1/openapi.json`.
//!
//! The document is served without a token: it describes the API, it holds no data, and a
//! client (or a test tool) needs it before it has credentials. Every other operation needs
//! `Authorization: Bearer <API token>` (the `bearer` scheme).
//!
//! Most bodies are built by the handlers as JSON objects; the document describes them as
//! objects ([`JsonObject`]). The error body is described exactly ([`ErrorBody`]).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Response as DocResponse, ResponseBuilder, Schema,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The body of every refusal: `{"error": {"code", "message", "problems"?}}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What was refused.
    error: ErrorDetail,
}

/// The refusal itself.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`not_found`, `invalid_token`, …).
    code: String,
    /// Human message.
    message: String,
    /// Every problem found in the input, when there were several (`{code, field, message}`).
    #[schema(required = false)]
    problems: Option<Vec<JsonObject>>,
    /// The request's id (also its `x-request-id` header), to find its log lines.
    #[schema(required = false)]
    request_id: Option<String>,
}

/// The refusals every operation may answer: `4XX` (the request was refused; `error.code` says
/// why) and `5XX` (the node failed; the cause is in its log), both with an [`ErrorBody`].
pub struct Refusals;

impl utoipa::IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<DocResponse>> {
        let refusal = |description: &str| {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", body)
                    .build(),
            )
        };
        BTreeMap::from([
            ("4XX".to_owned(), refusal("refused; `error.code` says why")),
            (
                "5XX".to_owned(),
                refusal("the node failed; the cause is in its log"),
            ),
        ])
    }
}

/// A JSON object built by the handler.
#[derive(Debug)]
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .into()
    }
}

impl ToSchema for JsonObject {}

/// The `bearer` security scheme: an API token (`atalaya token create`).
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an API token: `Authorization: Bearer <API token>`"))
                    .build(),
            ),
        );
    }
}

/// The description of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atalaya node API",
        description = "The API of an Atalaya node, under `/api/v1`."
    ),
    paths(
        openapi_json,
        crate::api::publish,
        crate::api::list,
        crate::api::show,
        crate::api::retract,
        crate::api::acknowledge,
        crate::api::renotify,
        crate::exchange_api::export,
        crate::exchange_api::import,
        crate::exchange_api::import_converted,
        crate::api::status,
        crate::api::show_policy,
        crate::api::set_policy,
        crate::api::show_oncall,
        crate::api::set_oncall,
        crate::api::show_agreement,
        crate::api::issue_agreement,
        crate::api::accept_agreement,
        crate::api::install_roster,
        crate::api::show_roster,
        crate::checks::start,
        crate::checks::history,
        crate::checks::pending,
        crate::checks::trend,
        crate::checks::report,
        crate::checks::answer,
        crate::directory_api::list_teams,
        crate::directory_api::show_team,
        crate::directory_api::put_team,
        crate::directory_api::confirm_contacts,
        crate::directory_api::team_rfc2350,
        crate::directory_api::team_vcard,
        crate::directory_api::export,
        crate::directory_api::import,
        crate::directory_api::hygiene,
        crate::directory_api::list_cybercrime,
        crate::directory_api::show_cybercrime,
        crate::directory_api::put_cybercrime,
        crate::directory_api::show_standards,
        crate::directory_api::put_standards,
        crate::directory_api::list_adoption,
        crate::directory_api::put_adoption,
        crate::census_api::questionnaire,
        crate::census_api::rounds,
        crate::census_api::open_round,
        crate::census_api::show_round,
        crate::census_api::close_round,
        crate::census_api::prefill,
        crate::census_api::responses,
        crate::census_api::answer,
        crate::census_api::report,
        crate::census_api::compare,
        crate::census_api::coverage,
        crate::census_api::show_minimum,
        crate::census_api::put_minimum,
        crate::portal::api_reports,
        crate::portal::api_report,
    ),
    components(schemas(ErrorBody, ErrorDetail, JsonObject)),
    modifiers(&BearerToken)
)]
struct ApiDoc;

/// The document (built once).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// `GET /api/v1/openapi.json`: this document, without a token.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "node",
    responses((status = 200, description = "the OpenAPI 3.1 document of `/api/v1`", body = JsonObject)),
    security(())
)]
pub async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_json().unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response()
}
