//! A call to one project, as a handler receives it: what every handler
//! under `/projects/{project_id}` extracts and does alike, extracted and done
//! once. [`ProjectCall`] reads, [`ProjectPage`] lists a page, and
//! [`ProjectWrite`] writes through the write pipeline; each resolves the
//! caller and authorizes its action on the project before the handler's own
//! work runs, in the same transaction (or read) as that work.
//!
//! Extraction keeps the order the handlers always had: the caller's token
//! first (so an anonymous write is 401 whatever its body), then the query
//! or the body, then the `Idempotency-Key`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::access::{self, Caller};
use super::audit::{self, Audit, Change};
use super::extract::{CursorKey, IdempotencyKey, JsonBody, decode_cursor, next_cursor, page_size};
use super::problem::ApiError;
use super::write::{self, Reply};
use crate::auth::{Authenticated, Credentials};
use crate::db::DbConnection;
use crate::db::agents::AgentRow;
use crate::db::projects::Project;
use crate::domain::access::Action;
use crate::http::state::AppState;

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// The query of every list: a page size and the cursor of the page before.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Cursor from the previous page's `next_cursor`.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page's size and where it starts (the cursor decoded as `key`),
    /// checked in the order every list checks them, before it reads.
    pub fn check(&self, key: CursorKey) -> Result<(i64, Option<String>), ApiError> {
        let limit = page_size(self.limit)?;
        let after = decode_cursor(self.cursor.as_deref(), key)?;
        Ok((limit, after))
    }
}

/// A call to the project named by the path's `{project_id}`, by whoever
/// sent it (with or without a token).
pub struct ProjectCall {
    pub state: web::Data<AppState>,
    pub credentials: Credentials,
    pub project_id: String,
}

impl ProjectCall {
    fn extract(req: &HttpRequest, credentials: Credentials) -> Result<Self, ApiError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the application state is not configured"))?;
        let project_id = req
            .match_info()
            .get("project_id")
            .ok_or_else(|| ApiError::internal("the route has no {project_id}"))?
            .to_owned();
        Ok(ProjectCall {
            state,
            credentials,
            project_id,
        })
    }

    /// Reads: authorizes `action`, then runs `work` in the same read.
    pub async fn read<T: Send + 'static>(
        self,
        action: Action,
        work: impl FnOnce(&mut DbConnection, &Caller, &Project) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let ProjectCall {
            state,
            credentials,
            project_id,
        } = self;
        super::read(&state, move |conn| {
            let (caller, project) = access::project_for(conn, &credentials, &project_id, action)?;
            work(conn, &caller, &project)
        })
        .await
    }

    /// Reads one record of the project's books, named by the route's last
    /// segment (`/projects/{project_id}/grants/{grant_id}`): authorizes
    /// `ReadLedger`, then `find` takes the project and that id and returns
    /// the record (or its not-found problem), answered as JSON.
    pub async fn read_item<I: Send + 'static, T: Send + 'static>(
        self,
        path: web::Path<(String, I)>,
        find: impl FnOnce(&mut DbConnection, &Project, I) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<web::Json<T>, ApiError> {
        let (_, id) = path.into_inner();
        let item = self
            .read(Action::ReadLedger, move |conn, _, project| {
                find(conn, project, id)
            })
            .await?;
        Ok(web::Json(item))
    }
}

impl FromRequest for ProjectCall {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let credentials = Credentials::from_request(&req, payload);
        Box::pin(async move { Ok(ProjectCall::extract(&req, credentials.await?)?) })
    }
}

/// One page of a list, and the cursor of the next when this one is full.
pub struct Page<R> {
    pub rows: Vec<R>,
    pub next_cursor: Option<String>,
}

impl<R> Page<R> {
    /// The page's rows made into `T`, and its cursor.
    pub fn map<T>(self, item: impl FnMut(R) -> T) -> (Vec<T>, Option<String>) {
        (self.rows.into_iter().map(item).collect(), self.next_cursor)
    }
}

/// A call that lists a page of a project's resources (`limit`, `cursor`).
pub struct ProjectPage {
    pub call: ProjectCall,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ProjectPage {
    /// Authorizes `action`, then reads with `fetch` the page after the
    /// cursor (decoded as `key`) and sets the next cursor from `sort_key`.
    pub async fn read<R: Send + 'static>(
        self,
        action: Action,
        key: CursorKey,
        fetch: impl FnOnce(&mut DbConnection, &Project, Option<&str>, i64) -> Result<Vec<R>, ApiError>
        + Send
        + 'static,
        sort_key: impl Fn(&R) -> String,
    ) -> Result<Page<R>, ApiError> {
        let limit = page_size(self.limit)?;
        let after = decode_cursor(self.cursor.as_deref(), key)?;
        let rows = self
            .call
            .read(action, move |conn, _, project| {
                fetch(conn, project, after.as_deref(), limit)
            })
            .await?;
        let next_cursor = next_cursor(&rows, limit, sort_key);
        Ok(Page { rows, next_cursor })
    }
}

/// A storage query of a project's rows: `(project id, after, limit)`.
pub type ProjectRows<R> =
    fn(&mut DbConnection, &str, Option<&str>, i64) -> diesel::QueryResult<Vec<R>>;

/// The units every amount of a response is formatted with, by code.
pub use crate::db::units::Units;

impl ProjectPage {
    /// The common list: `fetch` reads the project's rows after the cursor
    /// (an id), and `item` makes each into its response item, with the
    /// units its amounts are formatted in.
    pub async fn list<R: Send + 'static, T: Send + 'static>(
        self,
        action: Action,
        fetch: ProjectRows<R>,
        item: fn(&Units, R) -> T,
        sort_key: fn(&T) -> &str,
    ) -> Result<Page<T>, ApiError> {
        let fetched =
            move |conn: &mut DbConnection, project: &Project, after: Option<&str>, limit| {
                let units = crate::db::units::stored(conn)?;
                let rows = fetch(conn, &project.id, after, limit)?;
                Ok(rows.into_iter().map(|row| item(&units, row)).collect())
            };
        self.read(action, CursorKey::Id, fetched, |item: &T| {
            sort_key(item).to_owned()
        })
        .await
    }
}

impl FromRequest for ProjectPage {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The call first, as a read extracts it, then the page's query.
        let call = ProjectCall::from_request(req, payload);
        let query = web::Query::<PageQuery>::from_request(req, payload);
        Box::pin(async move {
            let call = call.await?;
            let query = query.await?.into_inner();
            Ok(ProjectPage {
                call,
                limit: query.limit,
                cursor: query.cursor,
            })
        })
    }
}

/// A write to a project by an authenticated caller, with its JSON body and
/// its `Idempotency-Key`.
pub struct ProjectWrite<T> {
    pub body: T,
    pub call: WriteCall,
}

/// What a [`ProjectWrite`] holds apart from its body.
pub struct WriteCall {
    pub state: web::Data<AppState>,
    pub credentials: Credentials,
    pub project_id: String,
    pub key: Option<String>,
    pub fingerprint: String,
    /// What the write's event records of the request.
    pub audit: Audit,
}

impl WriteCall {
    /// Runs `work` through the write pipeline, after authorizing `action`
    /// in the same transaction (see [`write::run`]), and records its event
    /// (the reply as the state made) there too.
    pub async fn run(
        self,
        action: Action,
        work: impl FnOnce(&mut DbConnection, &Caller, &Project) -> Result<Reply, ApiError>
        + Clone
        + Send
        + 'static,
    ) -> Result<HttpResponse, ApiError> {
        self.run_as(move |_| action, work).await
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ProjectWrite<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let authenticated = Authenticated::from_request(&req, payload);
        let body = JsonBody::<T>::from_request(&req, payload);
        let key = IdempotencyKey::from_request(&req, payload);
        Box::pin(async move {
            let Authenticated(credentials) = authenticated.await?;
            let ProjectCall {
                state,
                credentials,
                project_id,
            } = ProjectCall::extract(&req, credentials)?;
            let body = body.await?;
            let key = key.await?;
            Ok(ProjectWrite {
                body: body.value,
                call: WriteCall {
                    state,
                    credentials,
                    project_id,
                    key: key.0,
                    fingerprint: body.fingerprint,
                    audit: Audit::of(&req),
                },
            })
        })
    }
}

/// A write to one record of the project, the one the route names after
/// `{project_id}` (`/projects/{project_id}/claims/{claim_id}/approvals`):
/// what a [`ProjectWrite`] holds, and the record's id, read from the path
/// after the write is extracted, so that a refusal comes in the same order.
pub struct ItemWrite<T> {
    pub body: T,
    pub call: WriteCall,
    pub id: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for ItemWrite<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let write = ProjectWrite::<T>::from_request(req, payload);
        let path = web::Path::<(String, String)>::from_request(req, payload);
        Box::pin(async move {
            let ProjectWrite { body, call } = write.await?;
            let (_, id) = path.await?.into_inner();
            Ok(ItemWrite { body, call, id })
        })
    }
}

/// A page whose `limit` and cursor are checked, for a list with filters of
/// its own: the handler checks them after the page (the order lists always
/// checked in) and before [`CheckedPage::read`] reads.
pub struct CheckedPage<A> {
    pub call: ProjectCall,
    pub limit: i64,
    /// The decoded cursor: where the page starts.
    pub after: A,
}

impl ProjectPage {
    /// Checks `limit` and decodes the cursor with `decode` (a list sorted by
    /// number decodes with `decode_number_cursor`), reading nothing yet.
    pub fn check<A>(
        self,
        decode: impl FnOnce(Option<&str>) -> Result<A, ApiError>,
    ) -> Result<CheckedPage<A>, ApiError> {
        let limit = page_size(self.limit)?;
        let after = decode(self.cursor.as_deref())?;
        Ok(CheckedPage {
            call: self.call,
            limit,
            after,
        })
    }
}

impl<A: Send + 'static> CheckedPage<A> {
    /// Authorizes `action`, then reads with `fetch` the page after the
    /// cursor and sets the next cursor from `sort_key`.
    pub async fn read<R: Send + 'static>(
        self,
        action: Action,
        fetch: impl FnOnce(&mut DbConnection, &Project, A, i64) -> Result<Vec<R>, ApiError>
        + Send
        + 'static,
        sort_key: impl Fn(&R) -> String,
    ) -> Result<Page<R>, ApiError> {
        let CheckedPage { call, limit, after } = self;
        let rows = call
            .read(action, move |conn, _, project| {
                fetch(conn, project, after, limit)
            })
            .await?;
        let next_cursor = next_cursor(&rows, limit, sort_key);
        Ok(Page { rows, next_cursor })
    }
}

/// In a write's transaction: takes the project's write lock, authorizes on
/// it the action `action` decides for the caller `who`, runs `work` and
/// records its event (its reply as the state made). Every write to a
/// project through the write pipeline goes through here.
pub fn audited(
    conn: &mut DbConnection,
    audit: &Audit,
    (who, project_id): (&Credentials, &str),
    action: impl FnOnce(&Caller) -> Action,
    work: impl FnOnce(&mut DbConnection, &Caller, &Project) -> Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    crate::db::projects::lock(conn, project_id)?;
    let (caller, project) = access::project_for_caller(conn, who, project_id, action)?;
    let reply = work(conn, &caller, &project)?;
    let actor = caller.signed_in()?;
    let after = Some(reply.body().to_owned());
    audit.record(
        conn,
        &project.id,
        &actor.id,
        project.last_sequence,
        (None, after),
    )?;
    Ok(reply)
}

/// Runs `work` in one write transaction outside the write pipeline, run
/// again whole if the transaction is retried.
async fn write_now<T: Send + 'static>(
    state: web::Data<AppState>,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(move || state.db.write(|conn| work(conn))).await?
}

/// Runs `work` through the write pipeline (see [`write::run`]), keyed in
/// the scope of the caller `credentials` name.
async fn run_keyed(
    state: web::Data<AppState>,
    project: Option<String>,
    credentials: Credentials,
    key: (Option<String>, String),
    work: impl FnOnce(&mut DbConnection, &Credentials) -> Result<Reply, ApiError>
    + Clone
    + Send
    + 'static,
) -> Result<HttpResponse, ApiError> {
    let scope = access::idempotency_scope(&credentials);
    let (key, fingerprint) = key;
    write::run(&state, project, scope, key, fingerprint, move |conn| {
        work(conn, &credentials)
    })
    .await
}

impl ProjectCall {
    /// Like [`ProjectCall::read`], for an action that depends on who calls
    /// (their own resource or another's): `action` decides it from the
    /// caller, then `work` runs in the same read.
    pub async fn read_as<T: Send + 'static>(
        self,
        action: impl FnOnce(&Caller) -> Action + Send + 'static,
        work: impl FnOnce(&mut DbConnection, &Caller, &Project) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (credentials, project_id) = (self.credentials, self.project_id);
        super::read(&self.state, move |conn| {
            let (caller, project) =
                access::project_for_caller(conn, &credentials, &project_id, action)?;
            work(conn, &caller, &project)
        })
        .await
    }
}

impl WriteCall {
    /// Like [`WriteCall::run`], for an action that depends on who calls:
    /// `action` decides it from the caller, in the same transaction.
    pub async fn run_as(
        self,
        action: impl FnOnce(&Caller) -> Action + Clone + Send + 'static,
        work: impl FnOnce(&mut DbConnection, &Caller, &Project) -> Result<Reply, ApiError>
        + Clone
        + Send
        + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let project_id = self.project_id.clone();
        let key = (self.key, self.fingerprint);
        let project = Some(self.project_id);
        let audit = self.audit;
        run_keyed(
            self.state,
            project,
            self.credentials,
            key,
            move |conn, who| audited(conn, &audit, (who, &project_id), action, work),
        )
        .await
    }
}

/// A change to a project by an authenticated caller outside the write
/// pipeline (a `PATCH` or a `DELETE`, idempotent by itself, with no
/// `Idempotency-Key`). The token is extracted first, so an anonymous
/// change is 401 whatever its body; a body is a further parameter.
pub struct ProjectChange(pub ProjectCall, pub Audit);

impl FromRequest for ProjectChange {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The token is checked as the request comes: there is nothing to wait for.
        let change = match Authenticated::from_request(req, payload).into_inner() {
            Ok(Authenticated(credentials)) => ProjectCall::extract(req, credentials)
                .map(|call| ProjectChange(call, Audit::of(req)))
                .map_err(Into::into),
            Err(refused) => Err(refused.into()),
        };
        Box::pin(std::future::ready(change))
    }
}

impl ProjectChange {
    /// Authorizes `action`, then runs `work` in the same write
    /// transaction (run again if the transaction is retried) and records
    /// its event there: the state `work` replaced and what it answers.
    pub async fn write<T: Serialize + Send + 'static>(
        self,
        action: Action,
        mut work: impl FnMut(&mut DbConnection, &Caller, &Project) -> Result<Change<T>, ApiError>
        + Send
        + 'static,
    ) -> Result<T, ApiError> {
        let ProjectChange(call, audit) = self;
        let (credentials, project_id) = (call.credentials, call.project_id);
        write_now(call.state, move |conn| {
            crate::db::projects::lock(conn, &project_id)?;
            let (caller, project) = access::project_for(conn, &credentials, &project_id, action)?;
            let change = work(conn, &caller, &project)?;
            let actor = caller.signed_in()?;
            audit.record(
                conn,
                &project.id,
                &actor.id,
                project.last_sequence,
                change.states()?,
            )?;
            Ok(change.after)
        })
        .await
    }
}

/// A call by a signed-in agent that is not to one project (`/me`,
/// `/agents`, creating a project): the token is required and extracted
/// first, so an anonymous call is 401 whatever else it sends.
#[derive(Clone)]
pub struct SignedIn {
    pub state: web::Data<AppState>,
    pub credentials: Credentials,
    /// What an event records of the request, if it changes a project.
    pub audit: Audit,
}

impl SignedIn {
    /// Reads as the caller: `work` gets the agent the token names (401 if
    /// it names none, or an older version of it).
    pub async fn read<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut DbConnection, AgentRow) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let credentials = self.credentials;
        super::read(&self.state, move |conn| {
            let me = Caller::require(conn, &credentials)?;
            work(conn, me)
        })
        .await
    }

    /// Like [`SignedIn::write`], for a change to one project (named by
    /// `work`'s answer along with the change): its event is recorded in the
    /// same transaction.
    pub async fn write_in_project<T: Serialize + Send + 'static>(
        self,
        mut work: impl FnMut(&mut DbConnection, &AgentRow) -> Result<(String, Change<T>), ApiError>
        + Send
        + 'static,
    ) -> Result<T, ApiError> {
        let (credentials, audit) = (self.credentials, self.audit);
        write_now(self.state, move |conn| {
            let me = Caller::require(conn, &credentials)?;
            let (project_id, change) = work(conn, &me)?;
            let posted_after = audit::begin(conn, &project_id)?;
            audit.record(conn, &project_id, &me.id, posted_after, change.states()?)?;
            Ok(change.after)
        })
        .await
    }

    /// Writes as the caller in one transaction outside the write pipeline
    /// (a `DELETE`, idempotent by itself), run again if it is retried.
    pub async fn write<T: Send + 'static>(
        self,
        mut work: impl FnMut(&mut DbConnection, AgentRow) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let credentials = self.credentials;
        write_now(self.state, move |conn| {
            let me = Caller::require(conn, &credentials)?;
            work(conn, me)
        })
        .await
    }
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authenticated = Authenticated::from_request(req, payload);
        let audit = Audit::of(req);
        Box::pin(async move {
            let Authenticated(credentials) = authenticated.await?;
            let state = state
                .ok_or_else(|| ApiError::internal("the application state is not configured"))?;
            Ok(SignedIn {
                state,
                credentials,
                audit,
            })
        })
    }
}

/// A write by a signed-in agent that is not to one project, with its JSON
/// body and its `Idempotency-Key`.
pub struct SignedInWrite<T> {
    pub body: T,
    pub call: SignedInWriteCall,
}

/// What a [`SignedInWrite`] holds apart from its body.
pub struct SignedInWriteCall {
    pub signed_in: SignedIn,
    pub key: Option<String>,
    pub fingerprint: String,
}

impl SignedInWriteCall {
    /// Runs `work` as the caller through the write pipeline (see
    /// [`write::run`]), with no project.
    pub async fn run(
        self,
        work: impl FnOnce(&mut DbConnection, AgentRow) -> Result<Reply, ApiError>
        + Clone
        + Send
        + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let SignedIn {
            state, credentials, ..
        } = self.signed_in;
        let key = (self.key, self.fingerprint);
        run_keyed(state, None, credentials, key, move |conn, who| {
            let me = Caller::require(conn, who)?;
            work(conn, me)
        })
        .await
    }

    /// Like [`SignedInWriteCall::run`], for a write that changes one
    /// project (named by `work`'s answer along with its reply, which may be
    /// a project `work` makes): its event is recorded in the same
    /// transaction, with the reply as the state made.
    pub async fn run_in_project(
        self,
        work: impl FnOnce(&mut DbConnection, &AgentRow) -> Result<(String, Reply), ApiError>
        + Clone
        + Send
        + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let SignedIn {
            state,
            credentials,
            audit,
        } = self.signed_in;
        let key = (self.key, self.fingerprint);
        run_keyed(state, None, credentials, key, move |conn, who| {
            let me = Caller::require(conn, who)?;
            let (project_id, reply) = work(conn, &me)?;
            let posted_after = audit::begin(conn, &project_id)?;
            let after = Some(reply.body().to_owned());
            audit.record(conn, &project_id, &me.id, posted_after, (None, after))?;
            Ok(reply)
        })
        .await
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for SignedInWrite<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        let body = JsonBody::<T>::from_request(req, payload);
        let key = IdempotencyKey::from_request(req, payload);
        Box::pin(async move {
            let signed_in = signed_in.await?;
            let (body, key) = (body.await?, key.await?.0);
            let fingerprint = body.fingerprint;
            let call = SignedInWriteCall {
                signed_in,
                key,
                fingerprint,
            };
            Ok(SignedInWrite {
                body: body.value,
                call,
            })
        })
    }
}
