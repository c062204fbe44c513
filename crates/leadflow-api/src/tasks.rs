//! Follow-up tasks: adding them to leads, listing what is due, doing, snoozing and cancelling
//! them; and the leads with no next step.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use leadflow_contract::{MissingNextSteps, Task, TaskChangeRequest, TaskList, TaskRequest};
use leadflow_core::task::{Priority, TaskKind, TaskTitle};
use leadflow_core::team::UserName;
use leadflow_core::{Action, Timestamp};
use leadflow_engine::{AddTask, Due, TaskChange};
use leadflow_store::Backend;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidTask, e.to_string())
}

fn instant(field: &str, s: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(s).map_err(|e| invalid(format!("{field}: {e}")))
}

/// Add a task to a lead
///
/// Roles: admin, marketing; sales on the leads it owns.
#[utoipa::path(
    post, path = "/v1/leads/{lead}/tasks", tag = "Tasks", operation_id = "postV1LeadsLeadTasks",
    params(LeadPath),
    request_body = TaskRequest,
    responses(
        (status = 201, description = "Added", body = Task),
        (status = 400, description = "Error: `invalid_lead`, `invalid_task`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`, `user_not_found`"),
    ),
)]
pub(crate) async fn add<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    Body(request): Body<TaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let task = AddTask {
        lead: lead_ref(&lead)?,
        kind: request.kind.as_deref().map_or(Ok(TaskKind::Call), TaskKind::parse_or_error).map_err(invalid)?,
        title: TaskTitle::parse(&request.title).map_err(invalid)?,
        owner: request.owner.as_deref().map(UserName::parse).transpose().map_err(invalid)?,
        priority: request
            .priority
            .as_deref()
            .map_or(Ok(Priority::Normal), Priority::parse_or_error)
            .map_err(invalid)?,
        due_at: instant("due_at", &request.due_at)?,
    };
    let now = state.now();
    let added = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            Ok(engine.add_task(&actor, &task)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Task::new(&added, now))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// A user's name.
    owner: Option<String>,
    #[param(schema_with = leadflow_contract::lead_ref_schema)]
    lead: Option<String>,
    /// `pending` (open or snoozed, the default), `overdue`, `today` (due by the end of the
    /// owner's day, in their time zone) or `all`.
    #[param(pattern = "^(pending|overdue|today|all)$")]
    due: Option<String>,
    /// How many: 100 by default, 1000 at most (more is taken as 1000).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// Tasks, soonest due first
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/tasks", tag = "Tasks", operation_id = "getV1Tasks",
    params(ListParams),
    responses(
        (status = 200, description = "The tasks", body = TaskList),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`, `invalid_user`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TaskList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let due = match p.due.as_deref() {
        None | Some("pending") => Due::Pending,
        Some("overdue") => Due::Overdue,
        Some("today") => Due::Today,
        Some("all") => Due::All,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("due: `{other}` is not pending, overdue, today or all"),
            ));
        }
    };
    let list = leadflow_engine::TaskList {
        owner: p
            .owner
            .as_deref()
            .map(UserName::parse)
            .transpose()
            .map_err(|e| ApiError::new(ErrorCode::InvalidUser, e.to_string()))?,
        lead: p.lead.as_deref().map(lead_ref).transpose()?,
        due,
        limit: p.limit.unwrap_or(100).clamp(1, 1000) as usize,
    };
    let now = state.now();
    let tasks = state.read(move |engine| Ok(engine.tasks(&list)?)).await?;
    Ok(Json(TaskList { tasks: tasks.iter().map(|t| Task::new(t, now)).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TaskPath {
    /// A task's id.
    #[param(value_type = i64, minimum = 1)]
    id: String,
}

/// Do, snooze or cancel a task
///
/// `{"action": "done", "note": ...}`, `{"action": "snooze", "until": ...}` or `{"action":
/// "cancel", "why": ...}`. A task done or cancelled stays so.
///
/// Roles: admin, marketing; sales for the tasks it owns or those of its leads.
#[utoipa::path(
    post, path = "/v1/tasks/{id}", tag = "Tasks", operation_id = "postV1TasksId",
    params(TaskPath),
    request_body = TaskChangeRequest,
    responses(
        (status = 200, description = "Changed", body = Task),
        (status = 400, description = "Error: `invalid_request`, `invalid_task`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `task_not_found`"),
        (status = 409, description = "Error: `task_closed`"),
    ),
)]
pub(crate) async fn change<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(TaskPath { id }): Path<TaskPath>,
    Body(request): Body<TaskChangeRequest>,
) -> Result<Json<Task>, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let id: i64 =
        id.parse().map_err(|_| ApiError::new(ErrorCode::InvalidRequest, format!("`{id}` is not a task id")))?;
    let change = match request {
        TaskChangeRequest::Done { note } => TaskChange::Done { note },
        TaskChangeRequest::Snooze { until } => TaskChange::Snooze { until: instant("until", &until)? },
        TaskChangeRequest::Cancel { why } => TaskChange::Cancel { why },
    };
    let now = state.now();
    let task = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            Ok(engine.change_task(&actor, id, &change)?)
        })
        .await?;
    Ok(Json(Task::new(&task, now)))
}

/// Leads with no next step
///
/// Leads in an open stage of an active pipeline with no open or snoozed task: being worked, and
/// nothing to do next.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/tasks/missing", tag = "Tasks", operation_id = "getV1TasksMissing",
    responses((status = 200, description = "The leads, by id", body = MissingNextSteps)),
)]
pub(crate) async fn missing<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<MissingNextSteps>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let leads = state.read(|engine| Ok(engine.leads_without_next_step(1000)?)).await?;
    Ok(Json(MissingNextSteps { lead_ids: leads.into_iter().map(|l| l.0).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueParams {
    /// A user's name; a sales key's own by default (and the only one it may ask for).
    owner: Option<String>,
    /// How many leads: 50 by default, 500 at most (more is taken as 500).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// An owner's queue: their leads in the order to work them
///
/// Most urgent first: an overdue task, a task due today (in the owner's time zone), a lead
/// rotting in its stage, a lead being worked with no next step, then the rest by their next
/// task; hotter leads first within each. Each lead says why it is where it is.
///
/// Roles: admin, marketing; sales for its own queue.
#[utoipa::path(
    get, path = "/v1/queue", tag = "Tasks", operation_id = "getV1Queue",
    params(QueueParams),
    responses(
        (status = 200, description = "The queue", body = leadflow_contract::Queue),
        (status = 400, description = "Error: `invalid_request`, `invalid_user`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `user_not_found`"),
    ),
)]
pub(crate) async fn queue<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<leadflow_contract::Queue>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let sales = !caller.role.may(Action::WriteLeads);
    let owner = match (p.owner, sales) {
        (Some(o), true) if o != caller.name => {
            return Err(ApiError::forbidden("a sales key sees its own queue only"));
        }
        (Some(o), _) => o,
        (None, true) => caller.name.clone(),
        (None, false) => return Err(ApiError::new(ErrorCode::InvalidRequest, "owner: give the user whose queue")),
    };
    let name = UserName::parse(&owner).map_err(|e| ApiError::new(ErrorCode::InvalidUser, e.to_string()))?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500) as usize;
    let now = state.now();
    let items = state.read(move |engine| Ok(engine.queue(&name, limit)?)).await?;
    Ok(Json(leadflow_contract::Queue::new(&owner, &items, now)))
}
