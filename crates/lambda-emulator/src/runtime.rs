//! A Lambda Runtime API (2018-06-01) that runs the real `bootstrap` process.
//!
//! Each instance of the function is one child process with its own Runtime
//! API listener, so a killed instance can never take an event meant for its
//! successor. Invocations run one at a time per instance, as on Lambda.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::{lock, serve_http};

/// What to run and the environment Lambda would give it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The `bootstrap` executable.
    pub bootstrap: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// The account in the function's ARN.
    pub account_id: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: u32,
    /// The function timeout.
    pub timeout: Duration,
    /// How many instances may run at once (reserved concurrency).
    pub concurrency: usize,
    /// Extra environment variables (the function's configuration); they
    /// win over the ones the emulator sets.
    pub env: Vec<(String, String)>,
    /// The execution role's credentials, given to every instance.
    pub credentials: RoleCredentials,
    /// `TracingConfig`: `Active` samples every invocation (the trace
    /// header says `Sampled=1`); `PassThrough`, Lambda's default, samples
    /// none that arrives without a sampled upstream header (a Function URL
    /// or REST request here never has one).
    pub tracing: Tracing,
}

/// The function's `TracingConfig.Mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tracing {
    /// Lambda's default.
    #[default]
    PassThrough,
    /// `--tracing` in the deploy CLI.
    Active,
}

/// Temporary credentials for the function's execution role, in the
/// environment as Lambda gives them (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The emulator mints them:
/// emulated services that do not check signatures (moto) accept them, AWS
/// does not, and the emulator's own URL does not take them as a caller.
#[derive(Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    /// `AWS_ACCESS_KEY_ID` (`ASIA...`, as temporary keys are).
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: String,
}

impl RoleCredentials {
    /// Fresh random credentials.
    pub fn mint() -> Self {
        let hex = || uuid::Uuid::new_v4().simple().to_string();
        RoleCredentials {
            access_key_id: format!("ASIA{}", &hex()[..16].to_uppercase()),
            secret_access_key: format!("{}{}", hex(), &hex()[..8]),
            session_token: format!("emulated-session-{}", hex()),
        }
    }
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl FunctionSpec {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        )
    }
}

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran longer than its timeout; the instance was stopped.
    #[error("Task timed out after {0:.2?}")]
    Timeout(Duration),
    /// The process exited or could not start; the next call gets a fresh instance.
    #[error("the function's process stopped: {0}")]
    Crashed(String),
    /// Every instance is busy and the concurrency limit is reached.
    #[error("Rate Exceeded: all {0} instances of the function are busy (its concurrency limit)")]
    Throttled(usize),
    /// The function reported an error through the Runtime API.
    #[error("the function returned an error ({error_type}): {message}")]
    Errored {
        /// `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error body.
        message: String,
    },
}

/// Counters a test can read to prove what ran.
#[derive(Debug, Default)]
pub struct Stats {
    invocations: AtomicU64,
    instances: AtomicU64,
    last_init_us: AtomicU64,
    concurrent_peak: AtomicU64,
    throttles: AtomicU64,
    pids: SyncMutex<Vec<u64>>,
    logs: crate::logs::FunctionLogs,
    segments: Arc<crate::xray::Segments>,
    xray: tokio::sync::OnceCell<std::net::SocketAddr>,
}

impl Stats {
    /// The X-Ray segment documents the function sent.
    pub fn segments(&self) -> &crate::xray::Segments {
        &self.segments
    }

    /// Events handed to the function (each `invocation/next` that returned one).
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::SeqCst)
    }

    /// Processes started.
    pub fn instances(&self) -> u64 {
        self.instances.load(Ordering::SeqCst)
    }

    /// Spawn to first `invocation/next` of the newest instance, in microseconds.
    pub fn last_init_us(&self) -> u64 {
        self.last_init_us.load(Ordering::SeqCst)
    }

    /// The process id of the newest instance (0 before the first).
    pub fn pid(&self) -> u64 {
        lock(&self.pids).last().copied().unwrap_or(0)
    }

    /// The process ids of every instance started.
    pub fn pids(&self) -> Vec<u64> {
        lock(&self.pids).clone()
    }

    /// The most invocations that ran at once.
    pub fn concurrent_peak(&self) -> u64 {
        self.concurrent_peak.load(Ordering::SeqCst)
    }

    /// Invocations refused because every instance was busy at the limit.
    pub fn throttles(&self) -> u64 {
        self.throttles.load(Ordering::SeqCst)
    }

    /// What the function's instances wrote, and the metrics of its EMF lines.
    pub fn logs(&self) -> &crate::logs::FunctionLogs {
        &self.logs
    }

    /// The counters as JSON, with the metrics the function's EMF lines
    /// made (`metrics`) and how many such lines were invalid (`invalidEmf`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "invocations": self.invocations(),
            "instances": self.instances(),
            "concurrentPeak": self.concurrent_peak(),
            "throttles": self.throttles(),
            "lastInitMicros": self.last_init_us(),
            "pid": self.pid(),
            "metrics": self.logs.metrics_json(),
            "invalidEmf": self.logs.invalid_emf(),
            "traceSegments": self.segments.json().as_array().map_or(0, Vec::len),
            "invalidTraceSegments": self.segments.invalid(),
        })
    }
}

enum Outcome {
    Response(Bytes),
    Error {
        error_type: String,
        message: String,
    },
    /// A streamed response (`Lambda-Runtime-Function-Response-Mode:
    /// streaming`): its body's chunks as the function writes them, and how
    /// it ended (an error the function reported in its trailers, or a
    /// stream that broke off).
    Stream(mpsc::Receiver<Bytes>, oneshot::Receiver<InvokeError>),
}

/// Passes each line the function writes on `stream` to the emulator's
/// stderr (its stdout stays machine-readable) and keeps it in `stats`.
async fn collect_lines(
    from: impl tokio::io::AsyncRead + Unpin,
    stream: &'static str,
    stats: Arc<Stats>,
) {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("{line}");
        stats.logs.push(stream, &line);
    }
}

/// What an invocation answered.
#[derive(Debug)]
pub enum Answer {
    /// A buffered response payload (or a streamed one, collected, when the
    /// caller gave no sink).
    Payload(Bytes),
    /// A streamed response: every chunk went to the caller's sink.
    Streamed,
}

/// How many chunks of a streamed response wait for a slow reader before
/// the function's writes wait too.
const STREAM_BUFFER: usize = 16;

struct Pending {
    id: String,
    payload: Bytes,
    deadline_ms: u128,
    /// The caller's client context (JSON text), as `Invoke` passes it on.
    client_context: Option<String>,
}

/// The Runtime API state of one instance.
struct InstanceApi {
    /// Whether the trace header says `Sampled=1`.
    sampled: bool,
    arn: String,
    stats: Arc<Stats>,
    spawned: Instant,
    first_next: SyncMutex<bool>,
    slot: SyncMutex<Option<Pending>>,
    ready: Notify,
    inflight: SyncMutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: SyncMutex<Option<String>>,
}

struct Instance {
    child: Child,
    server: JoinHandle<()>,
    api: Arc<InstanceApi>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.child.start_kill();
    }
}

/// A function: its spec, its instances, its counters.
///
/// As on Lambda, an instance runs one invocation at a time; an invocation
/// takes an idle instance, or starts a new one while fewer than the
/// concurrency limit exist, or is throttled. A crash or a timeout ends its
/// instance; the others live on, idle ones reused newest first.
#[derive(Debug)]
pub struct Function {
    spec: FunctionSpec,
    pool: SyncMutex<Pool>,
    stats: Arc<Stats>,
}

/// The instances: idle ones, and a count of those running an invocation
/// (or starting for one).
#[derive(Debug, Default)]
struct Pool {
    idle: Vec<InstanceHandle>,
    busy: usize,
}

/// An invocation's hold on a slot of the pool: dropped, it ends the
/// invocation, returning `keep` to the idle instances (else the instance
/// goes away with its handle).
struct Busy<'f> {
    function: &'f Function,
    keep: Option<InstanceHandle>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut pool = lock(&self.function.pool);
        pool.busy = pool.busy.saturating_sub(1);
        pool.idle.extend(self.keep.take());
    }
}

/// The concurrency limit when none is set: enough for a laptop's load
/// tests, far below Lambda's account default of 1,000.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// Keeps `Instance` out of `Debug`.
struct InstanceHandle(Instance);

impl std::fmt::Debug for InstanceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Instance(pid {:?})", self.0.child.id())
    }
}

impl Function {
    /// A function that starts its first instance on its first invocation.
    pub fn new(mut spec: FunctionSpec) -> Self {
        // The process runs in the executable's folder: make the path absolute.
        if let Ok(absolute) = std::path::absolute(&spec.bootstrap) {
            spec.bootstrap = absolute;
        }
        Function {
            spec,
            pool: SyncMutex::new(Pool::default()),
            stats: Arc::new(Stats::default()),
        }
    }

    /// Its counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Its spec.
    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Stops the idle instances (busy ones stop when their invocation ends
    /// or is dropped).
    pub async fn stop(&self) {
        let stopped: Vec<InstanceHandle> = lock(&self.pool).idle.drain(..).collect();
        drop(stopped);
    }

    /// An idle live instance, or room to start one; `None`: throttled.
    fn acquire(&self) -> Option<Option<InstanceHandle>> {
        let mut pool = lock(&self.pool);
        let mut reused = None;
        while let Some(mut handle) = pool.idle.pop() {
            if matches!(handle.0.child.try_wait(), Ok(None)) {
                reused = Some(handle);
                break;
            }
        }
        if reused.is_none() && pool.idle.len() + pool.busy >= self.spec.concurrency.max(1) {
            return None;
        }
        pool.busy += 1;
        self.stats
            .concurrent_peak
            .fetch_max(pool.busy as u64, Ordering::SeqCst);
        Some(reused)
    }

    async fn start_instance(&self) -> Result<Instance, InvokeError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| InvokeError::Crashed(format!("cannot listen for the Runtime API: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| InvokeError::Crashed(e.to_string()))?;
        let segments = self.stats.segments.clone();
        let xray = self
            .stats
            .xray
            .get_or_try_init(|| crate::xray::start(segments))
            .await
            .map_err(|e| InvokeError::Crashed(format!("cannot start the X-Ray daemon: {e}")))?;
        let api = Arc::new(InstanceApi {
            sampled: self.spec.tracing == Tracing::Active,
            arn: self.spec.arn(),
            stats: self.stats.clone(),
            spawned: Instant::now(),
            first_next: SyncMutex::new(false),
            slot: SyncMutex::new(None),
            ready: Notify::new(),
            inflight: SyncMutex::new(HashMap::new()),
            init_error: SyncMutex::new(None),
        });
        let server = tokio::spawn(serve_http(listener, {
            let api = api.clone();
            move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(api.route(req).await) }
            }
        }));
        let spec = &self.spec;
        let mut command = Command::new(&spec.bootstrap);
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]emulator")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &spec.region)
            .env("AWS_DEFAULT_REGION", &spec.region)
            .env("_HANDLER", "bootstrap")
            .env("AWS_XRAY_DAEMON_ADDRESS", xray.to_string())
            .env("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
            .env("AWS_ACCESS_KEY_ID", &spec.credentials.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &spec.credentials.secret_access_key)
            .env("AWS_SESSION_TOKEN", &spec.credentials.session_token)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            // Both read line by line, as Lambda sends them to CloudWatch Logs.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = spec.bootstrap.parent() {
            command.env("LAMBDA_TASK_ROOT", dir).current_dir(dir);
        }
        let mut child = command.spawn().map_err(|e| {
            server.abort();
            InvokeError::Crashed(format!("cannot start {}: {e}", spec.bootstrap.display()))
        })?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(collect_lines(out, "stdout", self.stats.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(collect_lines(err, "stderr", self.stats.clone()));
        }
        self.stats.instances.fetch_add(1, Ordering::SeqCst);
        lock(&self.stats.pids).push(child.id().map_or(0, u64::from));
        tracing::info!(pid = child.id(), runtime_api = %addr, "started a function instance");
        Ok(Instance { child, server, api })
    }

    /// Runs one invocation with `payload` (the event JSON) and returns the
    /// function's response payload.
    pub async fn invoke(&self, payload: Bytes) -> Result<Bytes, InvokeError> {
        self.invoke_with(payload, None).await
    }

    /// [`Function::invoke`] with a client context (decoded JSON text), as a
    /// direct `Invoke` with `ClientContext` (or AgentCore Gateway) sends it.
    pub async fn invoke_with(
        &self,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Result<Bytes, InvokeError> {
        match self.invoke_into(payload, client_context, None).await? {
            Answer::Payload(payload) => Ok(payload),
            Answer::Streamed => Ok(Bytes::new()),
        }
    }

    /// [`Function::invoke`] for a caller that can stream (a Function URL with
    /// `InvokeMode: RESPONSE_STREAM`): a streamed response's chunks go to
    /// `sink` as the function writes them, and the invocation ends when the
    /// stream does (or at the timeout). A buffered response is returned.
    pub async fn invoke_streaming(
        &self,
        payload: Bytes,
        sink: mpsc::Sender<Bytes>,
    ) -> Result<Answer, InvokeError> {
        self.invoke_into(payload, None, Some(sink)).await
    }

    async fn invoke_into(
        &self,
        payload: Bytes,
        client_context: Option<String>,
        sink: Option<mpsc::Sender<Bytes>>,
    ) -> Result<Answer, InvokeError> {
        let Some(reused) = self.acquire() else {
            self.stats.throttles.fetch_add(1, Ordering::SeqCst);
            return Err(InvokeError::Throttled(self.spec.concurrency.max(1)));
        };
        // From here the slot is released however this ends, including when
        // the caller drops this future mid-invocation (a client that hung
        // up): then the instance, in an unknown state, is not kept.
        let mut busy = Busy {
            function: self,
            keep: None,
        };
        let mut handle = match reused {
            Some(handle) => handle,
            None => InstanceHandle(self.start_instance().await?),
        };
        let outcome = self.run(&mut handle.0, payload, client_context, sink).await;
        if matches!(
            outcome,
            Err(InvokeError::Crashed(_) | InvokeError::Timeout(_))
        ) {
            tracing::warn!(error = ?outcome.as_ref().err(), "stopping the instance; the next call starts a fresh one");
        } else {
            busy.keep = Some(handle);
        }
        outcome
    }

    /// One invocation on one instance.
    async fn run(
        &self,
        instance: &mut Instance,
        payload: Bytes,
        client_context: Option<String>,
        sink: Option<mpsc::Sender<Bytes>>,
    ) -> Result<Answer, InvokeError> {
        let id = crate::new_request_id();
        let (tx, rx) = oneshot::channel();
        lock(&instance.api.inflight).insert(id.clone(), tx);
        let deadline = SystemTime::now() + self.spec.timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        *lock(&instance.api.slot) = Some(Pending {
            id: id.clone(),
            payload,
            deadline_ms,
            client_context,
        });
        instance.api.ready.notify_one();

        let timeout = self.spec.timeout;
        let outcome = tokio::select! {
            reply = async {
                match rx.await {
                    Ok(Outcome::Response(body)) => Ok(Answer::Payload(body)),
                    Ok(Outcome::Error { error_type, message }) => Err(InvokeError::Errored { error_type, message }),
                    Ok(Outcome::Stream(chunks, failed)) => {
                        let answer = pump(chunks, sink).await;
                        // An error in the trailers fails the invocation, as
                        // on Lambda: the caller's stream ends in error.
                        match failed.await {
                            Ok(error) => Err(error),
                            Err(_) => Ok(answer),
                        }
                    }
                    Err(_) => Err(InvokeError::Crashed("the Runtime API went away".into())),
                }
            } => reply,
            status = instance.child.wait() => {
                let init = lock(&instance.api.init_error).take();
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                Err(InvokeError::Crashed(match init {
                    Some(init) => format!("init failed ({init}); the process exited with {status}"),
                    None => format!("the process exited with {status}"),
                }))
            },
            () = tokio::time::sleep(timeout) => Err(InvokeError::Timeout(timeout)),
        };
        lock(&instance.api.inflight).remove(&id);
        lock(&instance.api.slot).take();
        outcome
    }
}

/// Passes a streamed response's chunks to the caller's sink as they come,
/// or collects them when there is none. A caller that went away stops the
/// passing; the function's writes are still read (and dropped), as Lambda
/// lets a function finish when its client disconnects.
async fn pump(mut chunks: mpsc::Receiver<Bytes>, sink: Option<mpsc::Sender<Bytes>>) -> Answer {
    let Some(sink) = sink else {
        let mut all = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            all.extend_from_slice(&chunk);
        }
        return Answer::Payload(all.into());
    };
    while let Some(chunk) = chunks.recv().await {
        if sink.send(chunk).await.is_err() {
            tracing::info!("the caller went away mid-stream; the function runs on");
            while chunks.recv().await.is_some() {}
            break;
        }
    }
    Answer::Streamed
}

/// An answer for an invocation id that is unknown or already answered.
fn unknown_request() -> Response<Full<Bytes>> {
    reply(
        StatusCode::BAD_REQUEST,
        r#"{"errorMessage":"unknown or finished request id"}"#,
    )
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    crate::json_response(status, body)
}

impl InstanceApi {
    async fn route(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
            return reply(
                StatusCode::NOT_FOUND,
                r#"{"errorMessage":"unknown Runtime API path"}"#,
            );
        };
        if method == Method::GET && rest == "invocation/next" {
            return self.next().await;
        }
        if method != Method::POST {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                r#"{"errorMessage":"method not allowed"}"#,
            );
        }
        let error_type = req
            .headers()
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Unhandled")
            .to_owned();
        let streaming = req
            .headers()
            .get("lambda-runtime-function-response-mode")
            .is_some_and(|mode| mode == "streaming");
        let streamed = rest
            .strip_prefix("invocation/")
            .and_then(|r| r.strip_suffix("/response"))
            .filter(|_| streaming);
        if let Some(id) = streamed {
            let waiter = lock(&self.inflight).remove(id);
            return match waiter {
                Some(waiter) => self.stream(id, waiter, req.into_body()).await,
                None => unknown_request(),
            };
        }
        let body = match req.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorMessage":"unreadable body"}"#,
                );
            }
        };
        if rest == "init/error" {
            let message = String::from_utf8_lossy(&body).into_owned();
            tracing::error!(%error_type, %message, "the function failed to initialise");
            *lock(&self.init_error) = Some(format!("{error_type}: {message}"));
            return reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
        }
        let Some((id, kind)) = rest
            .strip_prefix("invocation/")
            .and_then(|r| r.split_once('/'))
        else {
            return reply(
                StatusCode::NOT_FOUND,
                r#"{"errorMessage":"unknown Runtime API path"}"#,
            );
        };
        let Some(waiter) = lock(&self.inflight).remove(id) else {
            return unknown_request();
        };
        let outcome = match kind {
            "response" => Outcome::Response(body),
            "error" => Outcome::Error {
                error_type,
                message: String::from_utf8_lossy(&body).into_owned(),
            },
            _ => {
                return reply(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"unknown Runtime API path"}"#,
                );
            }
        };
        let _ = waiter.send(outcome);
        reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
    }

    /// A streamed response: the waiting invocation gets the chunks as they
    /// arrive; the function's POST is answered once its body ends. An error
    /// the function reports in the trailers (`Lambda-Runtime-Function-Error-Type`
    /// and `-Body`, base64; docs: Lambda `runtimes-custom`, "Response
    /// streaming for custom runtimes") ends the stream and fails the
    /// invocation with that error, and so does a body that breaks off: the
    /// caller's stream ends in error, never as if it were complete.
    async fn stream(
        &self,
        id: &str,
        waiter: oneshot::Sender<Outcome>,
        mut body: Incoming,
    ) -> Response<Full<Bytes>> {
        let (chunks, receiver) = mpsc::channel(STREAM_BUFFER);
        let (fail, failed) = oneshot::channel();
        let _ = waiter.send(Outcome::Stream(receiver, failed));
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                tracing::warn!(request_id = id, "the function's response stream broke off");
                let _ = fail.send(InvokeError::Errored {
                    error_type: "Runtime.StreamBrokenOff".into(),
                    message: "the function's response stream ended before its last chunk".into(),
                });
                break;
            };
            match frame.into_data() {
                // A reader that went away drops the rest.
                Ok(data) => {
                    let _ = chunks.send(data).await;
                }
                Err(frame) => {
                    let Some(trailers) = frame.trailers_ref() else {
                        continue;
                    };
                    if let Some(error_type) = trailers.get("lambda-runtime-function-error-type") {
                        let error_type =
                            String::from_utf8_lossy(error_type.as_bytes()).into_owned();
                        let message = trailers
                            .get("lambda-runtime-function-error-body")
                            .and_then(|b| BASE64.decode(b.as_bytes()).ok())
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        tracing::error!(request_id = id, %error_type, %message, "the function reported an error mid-stream");
                        let _ = fail.send(InvokeError::Errored {
                            error_type,
                            message,
                        });
                        break;
                    }
                }
            }
        }
        reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
    }

    async fn next(&self) -> Response<Full<Bytes>> {
        {
            let mut first = lock(&self.first_next);
            if !*first {
                *first = true;
                let init = self.spawned.elapsed().as_micros() as u64;
                self.stats.last_init_us.store(init, Ordering::SeqCst);
            }
        }
        let pending = loop {
            if let Some(pending) = lock(&self.slot).take() {
                break pending;
            }
            self.ready.notified().await;
        };
        self.stats.invocations.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::new(pending.payload));
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        set("content-type", "application/json".into());
        set("lambda-runtime-aws-request-id", pending.id.clone());
        set(
            "lambda-runtime-deadline-ms",
            pending.deadline_ms.to_string(),
        );
        set("lambda-runtime-invoked-function-arn", self.arn.clone());
        if let Some(client_context) = pending.client_context {
            set("lambda-runtime-client-context", client_context);
        }
        // As Lambda sends it: the root, this segment's parent, and whether
        // it is sampled (active tracing).
        let hex = pending.id.replace('-', "");
        set(
            "lambda-runtime-trace-id",
            format!(
                "Root=1-{}-{};Parent={};Sampled={}",
                &pending.id[..8],
                &hex[8..32],
                &hex[16..32],
                u8::from(self.sampled)
            ),
        );
        response
    }
}
