//! Email templates: versions, checking, activation and retiring, and a preview with a lead.

use axum::Json;
use axum::extract::{Path, State};
use leadflow_contract::{
    RuleFileInfo, RuleFileRequest, TemplateCheck, TemplateList, TemplatePreview, TemplatePreviewRequest,
};
use leadflow_core::Action;
use leadflow_core::template::Template;
use leadflow_engine::TemplateToPreview;
use leadflow_store::{Backend, RuleFileVersion};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::lead_ref;
use crate::rule_files::{VersionPath, find_version};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// Every template version
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/templates", tag = "Sequences", operation_id = "getV1Templates",
    responses((status = 200, description = "Versions, oldest first", body = TemplateList)),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<TemplateList>, ApiError> {
    caller.require(Action::ReadModels)?;
    let templates = state.read(|engine| Ok(engine.templates()?)).await?;
    Ok(Json(TemplateList { templates: templates.iter().map(Into::into).collect() }))
}

/// Check a template file without storing it
///
/// Valid, with the variables it fills in, or its problems with their lines (as `leadflow
/// template check`): an unknown variable, a `{{` left open, a fallback that is no string.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/templates/validate", tag = "Sequences", operation_id = "postV1TemplatesValidate",
    request_body = RuleFileRequest,
    responses((status = 200, description = "The check", body = TemplateCheck)),
)]
pub(crate) async fn validate(
    caller: Caller,
    Body(request): Body<RuleFileRequest>,
) -> Result<Json<TemplateCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    Ok(Json(TemplateCheck::of(&Template::parse(&request.source))))
}

/// Store a template file, and make it its name's active version
///
/// Every later send of every sequence that sends it uses the active version. A file stored
/// before keeps its version.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/templates", tag = "Sequences", operation_id = "postV1Templates",
    request_body = RuleFileRequest,
    responses(
        (status = 200, description = "Stored", body = RuleFileInfo),
        (status = 422, description = "Error: `template_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<RuleFileRequest>,
) -> Result<Json<RuleFileInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let info = state
        .write(move |engine| {
            let saved = engine.save_template(&request.source, request.activate)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

fn stored<S: Backend>(
    engine: &mut leadflow_engine::Engine<S>,
    version: RuleFileVersion,
) -> Result<RuleFileInfo, ApiError> {
    Ok(RuleFileInfo::from(&find_version(
        engine.templates()?,
        version,
        leadflow_engine::EngineError::NoSuchTemplateVersion,
    )?))
}

/// Make a stored version its name's active one
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/templates/versions/{version}/activate", tag = "Sequences",
    operation_id = "postV1TemplatesVersionsVersionActivate",
    params(VersionPath),
    responses(
        (status = 200, description = "Active", body = RuleFileInfo),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `template_not_found`"),
    ),
)]
pub(crate) async fn activate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<RuleFileInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let version = path.parse("template")?;
    let info = state
        .write(move |engine| {
            let saved = engine.activate_template(version)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TemplatePath {
    /// A template's name.
    name: String,
}

/// Retire a template
///
/// No version of it is active any more; refused while an active sequence sends it.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/templates/{name}/retire", tag = "Sequences", operation_id = "postV1TemplatesNameRetire",
    params(TemplatePath),
    responses(
        (status = 204, description = "Retired"),
        (status = 404, description = "Error: `template_not_found`"),
        (status = 409, description = "Error: `template_in_use`"),
    ),
)]
pub(crate) async fn retire<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(TemplatePath { name }): Path<TemplatePath>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Action::WriteModels)?;
    let answer = format!("no active template `{name}`");
    match state.write(move |engine| Ok(engine.retire_template(&name)?)).await? {
        true => Ok(axum::http::StatusCode::NO_CONTENT),
        false => Err(ApiError::new(ErrorCode::TemplateNotFound, answer)),
    }
}

/// A template filled in for a lead
///
/// The active template of a name, or a file not stored, with the lead's values and its owner
/// as the sender; the unsubscribe link points nowhere real.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/templates/preview", tag = "Sequences", operation_id = "postV1TemplatesPreview",
    request_body = TemplatePreviewRequest,
    responses(
        (status = 200, description = "The preview", body = TemplatePreview),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`, `template_not_found`"),
        (status = 422, description = "Error: `template_invalid`"),
    ),
)]
pub(crate) async fn preview<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<TemplatePreviewRequest>,
) -> Result<Json<TemplatePreview>, ApiError> {
    caller.require(Action::WriteModels)?;
    let lead = lead_ref(&request.lead)?;
    let rendered = state
        .read(move |engine| {
            let template = match (&request.name, &request.source) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(ApiError::new(ErrorCode::InvalidRequest, "give either `name` or `source`"));
                }
                (Some(name), None) => TemplateToPreview::Active(name),
                (None, Some(source)) => TemplateToPreview::Source(source),
            };
            Ok(engine.preview_template(template, &lead)?)
        })
        .await?;
    Ok(Json(TemplatePreview::from(rendered)))
}
