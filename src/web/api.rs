//! The pages' way to the API: a request made in process to the very routes
//! of `/v1`, with the signed-in person's token, so that every page reads
//! and writes through the same handlers, the same authorization decision
//! (`domain::access::decide`), the same write pipeline and the same problem
//! codes as any other client. Nothing is sent over the network.
//!
//! Each server worker builds its copy of the routed application once, on
//! the first call, and keeps it (actix services are per worker).

use std::cell::OnceCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::http::{Method, StatusCode, header};
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use serde_json::Value;

type Answering = Pin<Box<dyn Future<Output = Result<Answer, actix_web::Error>>>>;

/// Sends one request to the routed application and collects its answer.
pub type Dispatch = Rc<dyn Fn(TestRequest) -> Answering>;

/// Builds a worker's dispatcher (the routed application, initialised).
pub type Build = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Dispatch>>>>;

/// The API's answer to one call: status, the `Location` header and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub disposition: Option<String>,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// One call: method, path under the instance root, optional token and body.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<&'a Value>,
    pub idempotency_key: Option<&'a str>,
    pub peer: Option<SocketAddr>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str, token: Option<&'a str>) -> Self {
        Call {
            method: Method::GET,
            path,
            token,
            body: None,
            idempotency_key: None,
            peer: None,
        }
    }

    pub fn post(path: &'a str, token: Option<&'a str>, body: &'a Value) -> Self {
        Call {
            method: Method::POST,
            body: Some(body),
            ..Call::get(path, token)
        }
    }

    pub fn delete(path: &'a str, token: Option<&'a str>) -> Self {
        Call {
            method: Method::DELETE,
            ..Call::get(path, token)
        }
    }

    pub fn patch(path: &'a str, token: Option<&'a str>, body: &'a Value) -> Self {
        Call {
            method: Method::PATCH,
            ..Call::post(path, token, body)
        }
    }

    fn request(&self) -> TestRequest {
        let mut request = TestRequest::default()
            .method(self.method.clone())
            .uri(self.path);
        if let Some(token) = self.token {
            request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        if let Some(key) = self.idempotency_key {
            request = request.insert_header(("idempotency-key", key));
        }
        if let Some(peer) = self.peer {
            request = request.peer_addr(peer);
        }
        if let Some(body) = self.body {
            request = request
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(body.to_string());
        }
        request
    }
}

/// A worker's client of the API, kept in the application's data.
#[derive(Clone)]
pub struct ApiClient {
    build: Build,
    dispatch: Rc<OnceCell<Dispatch>>,
}

impl ApiClient {
    /// A client that builds its dispatcher with `build` on first use.
    pub fn new(build: Build) -> Self {
        ApiClient {
            build,
            dispatch: Rc::new(OnceCell::new()),
        }
    }

    /// Sends `call` to the API and returns its answer.
    pub async fn send(&self, call: Call<'_>) -> Result<Answer, actix_web::Error> {
        let dispatch = match self.dispatch.get() {
            Some(dispatch) => dispatch.clone(),
            None => {
                let built = (self.build)().await;
                // Another request of this worker may have built it meanwhile:
                // either copy serves.
                let _ = self.dispatch.set(built.clone());
                built
            }
        };
        dispatch(call.request()).await
    }
}

/// Initialises `app` (the routed application) and makes a dispatcher
/// over it.
pub async fn dispatcher<T, B>(app: actix_web::App<T>) -> Dispatch
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    use actix_web::dev::Service;
    let service = Rc::new(actix_web::test::init_service(app).await);
    Rc::new(move |request: TestRequest| {
        let service = service.clone();
        Box::pin(async move {
            let response = service.call(request.to_request()).await?;
            let status = response.status();
            let text = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let location = text(header::LOCATION);
            let content_type = text(header::CONTENT_TYPE);
            let disposition = text(header::CONTENT_DISPOSITION);
            let body = actix_web::body::to_bytes(response.into_body())
                .await
                .map_err(|_| actix_web::error::ErrorInternalServerError("unreadable body"))?;
            Ok(Answer {
                status,
                location,
                content_type,
                disposition,
                body,
            })
        }) as Answering
    })
}
