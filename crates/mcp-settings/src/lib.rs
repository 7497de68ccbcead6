//! The function's settings: every `MCP_*` environment variable that the
//! Lambda function (`bootstrap`) and the stdio server (`mcp-local`) read, as
//! one typed contract.
//!
//! The names are public: the deploy CLI's templates, the emulator, the
//! scripts and the tests set them, and this crate is the one place that
//! spells them ([`Setting::name`]). A reader calls
//! [`FunctionSettings::from_env`] once at start and hands each part to the
//! crate that owns it (the HTTP front, the token check, the limits); a writer
//! fills a [`FunctionSettings`] and writes [`FunctionSettings::to_env`].
//!
//! What is cheap to check is typed here (modes, numbers, lists); JSON and
//! URL values stay text, checked by their owners (`mcp-core` parses the
//! scopes and limits, `mcp-oauth` the URLs), whose errors the reader
//! prefixes with the setting's name.
//!
//! ```no_run
//! use mcp_settings::{FunctionSettings, InvokeMode};
//!
//! let settings = FunctionSettings::from_env().expect("usable settings");
//! if settings.invoke_mode == InvokeMode::ResponseStream {
//!     println!("answering as response streams");
//! }
//! for (name, value) in settings.to_env() {
//!     println!("{name}={value}");
//! }
//! ```

use std::fmt;

/// One environment variable of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Setting {
    /// `MCP_AUTH`: `iam` (the default: trust the Function URL's IAM check)
    /// or `oauth` (check a bearer token on every request).
    Auth,
    /// `MCP_OAUTH_ISSUER` (required with `oauth`): the issuer URL; a token's
    /// `iss` must equal it exactly.
    OAuthIssuer,
    /// `MCP_OAUTH_AUDIENCE` (required with `oauth`): this endpoint's
    /// canonical URL; a token's `aud` must contain it.
    OAuthAudience,
    /// `MCP_OAUTH_JWKS_URL` (optional): the issuer's key set, instead of the
    /// `jwks_uri` of its metadata.
    OAuthJwksUrl,
    /// `MCP_OAUTH_SCOPES_SUPPORTED` (optional; space- or comma-separated):
    /// the scopes published in the resource metadata.
    OAuthScopesSupported,
    /// `MCP_OAUTH_JWKS_MAX_AGE_S` (optional; default 3600): how old, in
    /// seconds, the issuer's key set may be before it is fetched again, so
    /// that a withdrawn key stops being accepted.
    OAuthJwksMaxAgeS,
    /// `MCP_TOOL_SCOPES`: a JSON object of tool name to the scopes it needs.
    ToolScopes,
    /// `MCP_RESOURCE_SCOPES`: a JSON object of resource URI (or template
    /// pattern) to the scopes it needs instead of the read scope.
    ResourceScopes,
    /// `MCP_PROMPT_SCOPES`: a JSON object of prompt name to the scopes it
    /// needs instead of the read scope.
    PromptScopes,
    /// `MCP_RATE_LIMITS`: per-caller, per-tool rate limits (JSON).
    RateLimits,
    /// `MCP_RATE_LIMIT_TABLE`: the DynamoDB table every instance counts in.
    RateLimitTable,
    /// `MCP_RATE_LIMIT_BUDGET_MS`: the time budget of one check against the
    /// table, in milliseconds (read only with a table).
    RateLimitBudgetMs,
    /// `MCP_INVOKE_MODE`: `BUFFERED` (the default) or `RESPONSE_STREAM`, the
    /// Function URL's `InvokeMode`.
    InvokeMode,
    /// `MCP_REST_TRANSFER_MODE`: `BUFFERED` (the default) or `STREAM`, the
    /// `ResponseTransferMode` of the API Gateway REST integration in front
    /// of the function: with `STREAM`, REST (payload format 1.0) events are
    /// answered as response streams with API Gateway's prelude.
    RestTransferMode,
    /// `MCP_ALLOWED_ORIGINS` (comma-separated): the `Origin` values a
    /// browser may send.
    AllowedOrigins,
    /// `MCP_MAX_BODY_BYTES`: the largest request body accepted.
    MaxBodyBytes,
    /// `MCP_MAX_BATCH`: the most messages one JSON-RPC batch may hold
    /// (revisions before 2025-06-18); a larger batch is refused whole.
    MaxBatch,
    /// `MCP_ACCOUNT_ID`: the function's account, when the invoked ARN does
    /// not say.
    AccountId,
    /// `MCP_CONFORMANCE_FIXTURES`: `1` serves the MCP conformance suite's
    /// fixture pack (test builds only).
    ConformanceFixtures,
    /// `MCP_GATEWAY_TARGET`: `1` declares the function an AgentCore Gateway
    /// Lambda target, so that invocations naming a tool in the client
    /// context are served; without it they are refused. A gateway does not
    /// pass its caller's identity on, so this cannot go with per-caller
    /// limits, per-tool scopes or token checks ([`SettingsError::GatewayWithout`]).
    GatewayTarget,
    /// `MCP_METRICS`: `on` (the default) writes a CloudWatch embedded metric
    /// format line per `tools/call` and one at a cold start; `off` writes
    /// none.
    Metrics,
    /// `MCP_METRICS_NAMESPACE`: the CloudWatch namespace of those metrics
    /// (default `mcp-ladder`); the deploy CLI names one per stack.
    MetricsNamespace,
    /// `MCP_STATE_KEY_SECRET_ARN`: the Secrets Manager secret whose value
    /// (a random string of 32 or more characters) every instance derives the
    /// key that seals multi round-trip `requestState` from, read once at
    /// init. Without it each instance makes a random key of its own, so a
    /// round is resumed only by the instance that began it.
    StateKeySecretArn,
    /// `MCP_RENDEZVOUS_TABLE`: the DynamoDB table where a call at a
    /// handshake revision that asks the client (elicitation, sampling,
    /// roots) waits for the answers, which may reach any instance: the
    /// rate-limit table's contract (partition key `pk`, TTL attribute
    /// `ttl`), and may be the same table. Without it the calls wait in the
    /// instance that parked them, which only that instance can resume.
    RendezvousTable,
}

impl Setting {
    /// Every setting, in the order [`FunctionSettings::to_env`] writes them.
    pub const ALL: [Setting; 24] = [
        Setting::Auth,
        Setting::OAuthIssuer,
        Setting::OAuthAudience,
        Setting::OAuthJwksUrl,
        Setting::OAuthScopesSupported,
        Setting::OAuthJwksMaxAgeS,
        Setting::ToolScopes,
        Setting::ResourceScopes,
        Setting::PromptScopes,
        Setting::RateLimits,
        Setting::RateLimitTable,
        Setting::RateLimitBudgetMs,
        Setting::InvokeMode,
        Setting::RestTransferMode,
        Setting::AllowedOrigins,
        Setting::MaxBodyBytes,
        Setting::MaxBatch,
        Setting::AccountId,
        Setting::ConformanceFixtures,
        Setting::GatewayTarget,
        Setting::Metrics,
        Setting::MetricsNamespace,
        Setting::StateKeySecretArn,
        Setting::RendezvousTable,
    ];

    /// The OAuth settings that only `MCP_AUTH=oauth` may come with.
    const OAUTH: [Setting; 5] = [
        Setting::OAuthIssuer,
        Setting::OAuthAudience,
        Setting::OAuthJwksUrl,
        Setting::OAuthScopesSupported,
        Setting::OAuthJwksMaxAgeS,
    ];

    /// The environment variable's name.
    pub const fn name(self) -> &'static str {
        match self {
            Setting::Auth => "MCP_AUTH",
            Setting::OAuthIssuer => "MCP_OAUTH_ISSUER",
            Setting::OAuthAudience => "MCP_OAUTH_AUDIENCE",
            Setting::OAuthJwksUrl => "MCP_OAUTH_JWKS_URL",
            Setting::OAuthScopesSupported => "MCP_OAUTH_SCOPES_SUPPORTED",
            Setting::OAuthJwksMaxAgeS => "MCP_OAUTH_JWKS_MAX_AGE_S",
            Setting::ToolScopes => "MCP_TOOL_SCOPES",
            Setting::ResourceScopes => "MCP_RESOURCE_SCOPES",
            Setting::PromptScopes => "MCP_PROMPT_SCOPES",
            Setting::RateLimits => "MCP_RATE_LIMITS",
            Setting::RateLimitTable => "MCP_RATE_LIMIT_TABLE",
            Setting::RateLimitBudgetMs => "MCP_RATE_LIMIT_BUDGET_MS",
            Setting::InvokeMode => "MCP_INVOKE_MODE",
            Setting::RestTransferMode => "MCP_REST_TRANSFER_MODE",
            Setting::AllowedOrigins => "MCP_ALLOWED_ORIGINS",
            Setting::MaxBodyBytes => "MCP_MAX_BODY_BYTES",
            Setting::MaxBatch => "MCP_MAX_BATCH",
            Setting::AccountId => "MCP_ACCOUNT_ID",
            Setting::ConformanceFixtures => "MCP_CONFORMANCE_FIXTURES",
            Setting::GatewayTarget => "MCP_GATEWAY_TARGET",
            Setting::Metrics => "MCP_METRICS",
            Setting::MetricsNamespace => "MCP_METRICS_NAMESPACE",
            Setting::StateKeySecretArn => "MCP_STATE_KEY_SECRET_ARN",
            Setting::RendezvousTable => "MCP_RENDEZVOUS_TABLE",
        }
    }
}

impl Setting {
    /// The error for a value of this setting that its owner refused, named
    /// `"{setting}: {why}"`.
    pub fn invalid(self, why: impl fmt::Display) -> SettingsError {
        SettingsError::Invalid {
            setting: self,
            why: why.to_string(),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How requests are authenticated ([`Setting::Auth`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Trust the front's IAM check (a Function URL with `AuthType AWS_IAM`).
    #[default]
    Iam,
    /// Check a bearer token on every request ([`FunctionSettings::oauth`]).
    OAuth,
}

impl AuthMode {
    /// The value as the environment spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMode::Iam => "iam",
            AuthMode::OAuth => "oauth",
        }
    }
}

/// How the Function URL invokes the function ([`Setting::InvokeMode`]). It
/// must match the URL's `InvokeMode`: a streaming URL reads every response
/// as a stream, a buffered one as a JSON payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvokeMode {
    /// One JSON payload per response.
    #[default]
    Buffered,
    /// Response streams: a call's notifications reach the client while its
    /// tool runs.
    ResponseStream,
}

impl InvokeMode {
    /// The value as the environment (and the URL's `InvokeMode`) spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            InvokeMode::Buffered => "BUFFERED",
            InvokeMode::ResponseStream => "RESPONSE_STREAM",
        }
    }
}

/// How API Gateway's REST integration takes the function's answers to REST
/// events ([`Setting::RestTransferMode`]). It must match the integration's
/// `ResponseTransferMode`: a streaming integration invokes with
/// `InvokeWithResponseStream` and reads a prelude, a buffered one reads a
/// JSON payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransferMode {
    /// One Lambda proxy response (JSON) per request; API Gateway stops
    /// waiting at 29 s.
    #[default]
    Buffered,
    /// A response stream: the prelude (`statusCode`, `headers`,
    /// `multiValueHeaders`), eight NUL bytes, then the body as it comes.
    Stream,
}

impl TransferMode {
    /// The value as the environment (and the integration's
    /// `ResponseTransferMode`) spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferMode::Buffered => "BUFFERED",
            TransferMode::Stream => "STREAM",
        }
    }
}

/// The resource server's settings, as text: `mcp-oauth` checks the URLs.
/// Set only with [`AuthMode::OAuth`], which needs the issuer and the
/// audience.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// [`Setting::OAuthIssuer`].
    pub issuer: Option<String>,
    /// [`Setting::OAuthAudience`].
    pub audience: Option<String>,
    /// [`Setting::OAuthJwksUrl`].
    pub jwks_url: Option<String>,
    /// [`Setting::OAuthScopesSupported`], as written.
    pub scopes_supported: Option<String>,
    /// [`Setting::OAuthJwksMaxAgeS`], whole seconds above 0 (`None`: the
    /// resource server's default, an hour).
    pub jwks_max_age_s: Option<u64>,
}

impl OAuthSettings {
    /// The issuer and the audience, which `MCP_AUTH=oauth` needs; the error
    /// names the one missing.
    pub fn required(&self) -> Result<(&str, &str), SettingsError> {
        fn needs(value: &Option<String>, setting: Setting) -> Result<&str, SettingsError> {
            value
                .as_deref()
                .ok_or(SettingsError::OAuthNeeds { setting })
        }
        Ok((
            needs(&self.issuer, Setting::OAuthIssuer)?,
            needs(&self.audience, Setting::OAuthAudience)?,
        ))
    }

    fn get(&self, setting: Setting) -> Option<String> {
        match setting {
            Setting::OAuthIssuer => self.issuer.clone(),
            Setting::OAuthAudience => self.audience.clone(),
            Setting::OAuthJwksUrl => self.jwks_url.clone(),
            Setting::OAuthScopesSupported => self.scopes_supported.clone(),
            Setting::OAuthJwksMaxAgeS => self.jwks_max_age_s.map(|s| s.to_string()),
            _ => None,
        }
    }
}

/// Everything the function reads from its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSettings {
    /// [`Setting::Auth`].
    pub auth: AuthMode,
    /// The OAuth settings (with [`AuthMode::OAuth`] only).
    pub oauth: OAuthSettings,
    /// [`Setting::ToolScopes`], as written (`mcp_core::scopes::parse` reads it).
    pub tool_scopes: Option<String>,
    /// [`Setting::ResourceScopes`], as written (the same form).
    pub resource_scopes: Option<String>,
    /// [`Setting::PromptScopes`], as written (the same form).
    pub prompt_scopes: Option<String>,
    /// [`Setting::RateLimits`], when not blank (`mcp_core::limits::Limits::parse`
    /// reads it).
    pub rate_limits: Option<String>,
    /// [`Setting::RateLimitTable`], trimmed, when not blank.
    pub rate_limit_table: Option<String>,
    /// [`Setting::RateLimitBudgetMs`], above 0; read only with a table.
    pub rate_limit_budget_ms: Option<u64>,
    /// [`Setting::InvokeMode`].
    pub invoke_mode: InvokeMode,
    /// [`Setting::RestTransferMode`].
    pub rest_transfer_mode: TransferMode,
    /// [`Setting::AllowedOrigins`], each trimmed and not empty.
    pub allowed_origins: Vec<String>,
    /// [`Setting::MaxBodyBytes`]; a value that is not a number is ignored
    /// (the front's default applies).
    pub max_body_bytes: Option<usize>,
    /// [`Setting::MaxBatch`], above 0 (`None`: the server's default, 20).
    pub max_batch: Option<usize>,
    /// [`Setting::AccountId`], when not empty.
    pub account_id: Option<String>,
    /// [`Setting::ConformanceFixtures`] is `1`.
    pub conformance_fixtures: bool,
    /// [`Setting::GatewayTarget`] is `1`.
    pub gateway_target: bool,
    /// [`Setting::Metrics`] is `off`.
    pub metrics_off: bool,
    /// [`Setting::MetricsNamespace`], trimmed, when not blank (`None`:
    /// [`DEFAULT_METRICS_NAMESPACE`]).
    pub metrics_namespace: Option<String>,
    /// [`Setting::StateKeySecretArn`], trimmed, when not blank.
    pub state_key_secret_arn: Option<String>,
    /// [`Setting::RendezvousTable`], trimmed, when not blank.
    pub rendezvous_table: Option<String>,
}

/// The CloudWatch namespace of the function's metrics when
/// [`Setting::MetricsNamespace`] names none.
pub const DEFAULT_METRICS_NAMESPACE: &str = "mcp-ladder";

impl FunctionSettings {
    /// The namespace the function's metrics go to; `None` when they are off.
    pub fn metrics(&self) -> Option<&str> {
        (!self.metrics_off).then(|| {
            self.metrics_namespace
                .as_deref()
                .unwrap_or(DEFAULT_METRICS_NAMESPACE)
        })
    }
}

/// A whole number above 0, when given; the text given, when it is not one.
fn above_zero(text: Option<String>) -> Result<Option<u64>, String> {
    match text {
        None => Ok(None),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(text),
        },
    }
}

/// [`Setting::Metrics`] and [`Setting::MetricsNamespace`]: whether metrics
/// are off, and the namespace, checked as CloudWatch names namespaces (up to
/// 255 ASCII letters, digits, `.-_/#:` and spaces, not `AWS/...`).
fn metrics_of(
    switch: Option<String>,
    namespace: Option<String>,
) -> Result<(bool, Option<String>), SettingsError> {
    let off = match switch.as_deref().map(str::trim) {
        None | Some("on") => false,
        Some("off") => true,
        Some(other) => {
            return Err(Setting::Metrics.invalid(format!("{other:?}: use on or off")));
        }
    };
    let namespace = namespace.map(|n| n.trim().to_owned());
    if let Some(name) = &namespace {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
        if name.len() > 255 || !name.chars().all(allowed) || name.starts_with("AWS/") {
            return Err(Setting::MetricsNamespace.invalid(format!(
                "{name:?} is not a CloudWatch namespace: up to 255 ASCII letters, digits, spaces \
                 and . - _ / # :, not starting with AWS/"
            )));
        }
    }
    Ok((off, namespace))
}

/// A setting that cannot be used; the message names it and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `MCP_AUTH` is neither `iam` nor `oauth`.
    #[error("{}={value:?}: use iam or oauth", Setting::Auth)]
    UnknownAuth {
        /// The value given (trimmed).
        value: String,
    },
    /// An OAuth setting without `MCP_AUTH=oauth`.
    #[error(
        "{setting} is set but {auth} is not oauth: set {auth}=oauth to check bearer tokens, \
         or unset the MCP_OAUTH_* variables to trust IAM",
        auth = Setting::Auth
    )]
    OAuthWithoutAuth {
        /// The first OAuth setting found.
        setting: Setting,
    },
    /// `MCP_AUTH=oauth` without the issuer or the audience.
    #[error("{}=oauth needs {setting}: {}", Setting::Auth, needed_for(*setting))]
    OAuthNeeds {
        /// The missing setting.
        setting: Setting,
    },
    /// `MCP_INVOKE_MODE` is neither `BUFFERED` nor `RESPONSE_STREAM`.
    #[error(
        "{}={value:?}: use BUFFERED or RESPONSE_STREAM, the Function URL's InvokeMode",
        Setting::InvokeMode
    )]
    UnknownInvokeMode {
        /// The value given.
        value: String,
    },
    /// `MCP_REST_TRANSFER_MODE` is neither `BUFFERED` nor `STREAM`.
    #[error(
        "{}={value:?}: use BUFFERED or STREAM, the REST integration's ResponseTransferMode",
        Setting::RestTransferMode
    )]
    UnknownTransferMode {
        /// The value given.
        value: String,
    },
    /// A setting its owner refused (a JSON or URL value): the setting,
    /// then the owner's reason.
    #[error("{setting}: {why}")]
    Invalid {
        /// The setting.
        setting: Setting,
        /// Why it cannot be used.
        why: String,
    },
    /// `MCP_GATEWAY_TARGET=1` with a setting that needs the caller's
    /// identity, which an AgentCore Gateway does not pass to its target.
    #[error(
        "{}=1 cannot go with {setting}: an AgentCore Gateway invokes its Lambda target with \
         the tool's arguments and its own ids, never its caller's identity, so {}. Serve \
         them on the Function URL (--rung url) or the internet rung (--exposure internet), \
         where each caller is known",
        Setting::GatewayTarget,
        without_identity(*setting)
    )]
    GatewayWithout {
        /// The setting that needs an identity.
        setting: Setting,
    },
    /// `MCP_RATE_LIMIT_BUDGET_MS` is not whole milliseconds above 0.
    #[error(
        "{} is {value:?}: give whole milliseconds above 0, e.g. 500",
        Setting::RateLimitBudgetMs
    )]
    BadBudget {
        /// The value given.
        value: String,
    },
}

/// What a gateway target would do with `setting`, lacking the caller.
fn without_identity(setting: Setting) -> &'static str {
    match setting {
        Setting::RateLimits => "every gateway caller would share one count per tool",
        Setting::ToolScopes => "no gateway caller's scopes could be checked",
        _ => "a gateway's invocation carries no token to check",
    }
}

/// What a required OAuth setting is for.
fn needed_for(setting: Setting) -> &'static str {
    match setting {
        Setting::OAuthIssuer => "the issuer URL that tokens carry in `iss`",
        _ => "this endpoint's canonical URL, which tokens must name in `aud`",
    }
}

impl FunctionSettings {
    /// Reads the process environment.
    pub fn from_env() -> Result<FunctionSettings, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (a variable's value, `None` when
    /// unset); tests pass a map.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<FunctionSettings, SettingsError> {
        let raw = |setting: Setting| lookup(setting.name());
        let not_blank = |setting| raw(setting).filter(|v| !v.trim().is_empty());

        let jwks_max_age_s = above_zero(not_blank(Setting::OAuthJwksMaxAgeS)).map_err(|text| {
            Setting::OAuthJwksMaxAgeS
                .invalid(format!("{text:?} is not whole seconds above 0, e.g. 3600"))
        })?;
        let oauth = OAuthSettings {
            issuer: not_blank(Setting::OAuthIssuer),
            audience: not_blank(Setting::OAuthAudience),
            jwks_url: not_blank(Setting::OAuthJwksUrl),
            scopes_supported: not_blank(Setting::OAuthScopesSupported),
            jwks_max_age_s,
        };
        let auth = match not_blank(Setting::Auth).as_deref().map(str::trim) {
            None | Some("iam") => {
                if let Some(&setting) = Setting::OAUTH.iter().find(|s| oauth.get(**s).is_some()) {
                    return Err(SettingsError::OAuthWithoutAuth { setting });
                }
                AuthMode::Iam
            }
            Some("oauth") => {
                oauth.required()?;
                AuthMode::OAuth
            }
            Some(other) => {
                return Err(SettingsError::UnknownAuth {
                    value: other.to_owned(),
                });
            }
        };

        let rate_limit_table = not_blank(Setting::RateLimitTable).map(|t| t.trim().to_owned());
        // Read only with a table.
        let budget = rate_limit_table
            .as_ref()
            .and(not_blank(Setting::RateLimitBudgetMs));
        let rate_limit_budget_ms =
            above_zero(budget).map_err(|value| SettingsError::BadBudget { value })?;

        let max_batch = above_zero(not_blank(Setting::MaxBatch))
            .map_err(|text| {
                Setting::MaxBatch.invalid(format!(
                    "{text:?} is not a whole number of messages above 0, e.g. 20"
                ))
            })?
            .map(|n| n as usize);

        let (metrics_off, metrics_namespace) = metrics_of(
            not_blank(Setting::Metrics),
            not_blank(Setting::MetricsNamespace),
        )?;

        let invoke_mode = match raw(Setting::InvokeMode).as_deref() {
            None | Some("BUFFERED") => InvokeMode::Buffered,
            Some("RESPONSE_STREAM") => InvokeMode::ResponseStream,
            Some(other) => {
                return Err(SettingsError::UnknownInvokeMode {
                    value: other.to_owned(),
                });
            }
        };

        let rest_transfer_mode = match raw(Setting::RestTransferMode).as_deref() {
            None | Some("BUFFERED") => TransferMode::Buffered,
            Some("STREAM") => TransferMode::Stream,
            Some(other) => {
                return Err(SettingsError::UnknownTransferMode {
                    value: other.to_owned(),
                });
            }
        };

        let gateway_target = raw(Setting::GatewayTarget).is_some_and(|v| v.trim() == "1");
        if gateway_target {
            let needs_identity = [
                (Setting::Auth, auth == AuthMode::OAuth),
                (
                    Setting::RateLimits,
                    not_blank(Setting::RateLimits).is_some(),
                ),
                (
                    Setting::ToolScopes,
                    not_blank(Setting::ToolScopes).is_some(),
                ),
            ];
            if let Some((setting, _)) = needs_identity.into_iter().find(|(_, set)| *set) {
                return Err(SettingsError::GatewayWithout { setting });
            }
        }

        Ok(FunctionSettings {
            auth,
            oauth,
            tool_scopes: raw(Setting::ToolScopes),
            resource_scopes: raw(Setting::ResourceScopes),
            prompt_scopes: raw(Setting::PromptScopes),
            rate_limits: not_blank(Setting::RateLimits),
            rate_limit_table,
            rate_limit_budget_ms,
            invoke_mode,
            rest_transfer_mode,
            allowed_origins: raw(Setting::AllowedOrigins)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            max_body_bytes: raw(Setting::MaxBodyBytes).and_then(|v| v.parse().ok()),
            max_batch,
            account_id: raw(Setting::AccountId).filter(|v| !v.is_empty()),
            conformance_fixtures: raw(Setting::ConformanceFixtures).is_some_and(|v| v == "1"),
            gateway_target,
            metrics_off,
            metrics_namespace,
            state_key_secret_arn: not_blank(Setting::StateKeySecretArn)
                .map(|t| t.trim().to_owned()),
            rendezvous_table: not_blank(Setting::RendezvousTable).map(|t| t.trim().to_owned()),
        })
    }

    /// The environment that gives these settings: each setting that is not
    /// its default, in [`Setting::ALL`] order. [`FunctionSettings::from_lookup`]
    /// reads it back to the same settings.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        Setting::ALL
            .into_iter()
            .filter_map(|setting| Some((setting.name(), self.value(setting)?)))
            .collect()
    }

    /// The value `setting` is written as; `None` for its default.
    fn value(&self, setting: Setting) -> Option<String> {
        let text = |value: &Option<String>| value.clone();
        match setting {
            Setting::Auth => (self.auth != AuthMode::default()).then(|| self.auth.as_str().into()),
            Setting::OAuthIssuer
            | Setting::OAuthAudience
            | Setting::OAuthJwksUrl
            | Setting::OAuthScopesSupported
            | Setting::OAuthJwksMaxAgeS => self.oauth.get(setting),
            Setting::ToolScopes => text(&self.tool_scopes),
            Setting::ResourceScopes => text(&self.resource_scopes),
            Setting::PromptScopes => text(&self.prompt_scopes),
            Setting::RateLimits => text(&self.rate_limits),
            Setting::RateLimitTable => text(&self.rate_limit_table),
            Setting::RateLimitBudgetMs => self.rate_limit_budget_ms.map(|ms| ms.to_string()),
            Setting::InvokeMode => (self.invoke_mode != InvokeMode::default())
                .then(|| self.invoke_mode.as_str().into()),
            Setting::RestTransferMode => (self.rest_transfer_mode != TransferMode::default())
                .then(|| self.rest_transfer_mode.as_str().into()),
            Setting::AllowedOrigins => {
                (!self.allowed_origins.is_empty()).then(|| self.allowed_origins.join(","))
            }
            Setting::MaxBodyBytes => self.max_body_bytes.map(|n| n.to_string()),
            Setting::MaxBatch => self.max_batch.map(|n| n.to_string()),
            Setting::AccountId => text(&self.account_id),
            Setting::ConformanceFixtures => self.conformance_fixtures.then(|| "1".into()),
            Setting::GatewayTarget => self.gateway_target.then(|| "1".into()),
            Setting::Metrics => self.metrics_off.then(|| "off".into()),
            Setting::MetricsNamespace => text(&self.metrics_namespace),
            Setting::StateKeySecretArn => text(&self.state_key_secret_arn),
            Setting::RendezvousTable => text(&self.rendezvous_table),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<FunctionSettings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FunctionSettings::from_lookup(|name| vars.get(name).cloned())
    }

    fn message(vars: &[(&str, &str)]) -> String {
        read(vars).expect_err("refused").to_string()
    }

    #[test]
    fn names_are_the_contract() {
        let names: Vec<_> = Setting::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "MCP_AUTH",
                "MCP_OAUTH_ISSUER",
                "MCP_OAUTH_AUDIENCE",
                "MCP_OAUTH_JWKS_URL",
                "MCP_OAUTH_SCOPES_SUPPORTED",
                "MCP_OAUTH_JWKS_MAX_AGE_S",
                "MCP_TOOL_SCOPES",
                "MCP_RESOURCE_SCOPES",
                "MCP_PROMPT_SCOPES",
                "MCP_RATE_LIMITS",
                "MCP_RATE_LIMIT_TABLE",
                "MCP_RATE_LIMIT_BUDGET_MS",
                "MCP_INVOKE_MODE",
                "MCP_REST_TRANSFER_MODE",
                "MCP_ALLOWED_ORIGINS",
                "MCP_MAX_BODY_BYTES",
                "MCP_MAX_BATCH",
                "MCP_ACCOUNT_ID",
                "MCP_CONFORMANCE_FIXTURES",
                "MCP_GATEWAY_TARGET",
                "MCP_METRICS",
                "MCP_METRICS_NAMESPACE",
                "MCP_STATE_KEY_SECRET_ARN",
                "MCP_RENDEZVOUS_TABLE",
            ]
        );
        assert_eq!(Setting::Auth.to_string(), "MCP_AUTH");
    }

    #[test]
    fn an_empty_environment_is_the_default() {
        assert_eq!(read(&[]), Ok(FunctionSettings::default()));
        assert!(FunctionSettings::default().to_env().is_empty());
        let explicit = read(&[
            ("MCP_AUTH", " iam "),
            ("MCP_INVOKE_MODE", "BUFFERED"),
            ("MCP_REST_TRANSFER_MODE", "BUFFERED"),
            ("MCP_RATE_LIMITS", "  "),
            ("MCP_CONFORMANCE_FIXTURES", "yes"),
            ("MCP_METRICS", " on "),
        ]);
        assert_eq!(explicit, Ok(FunctionSettings::default()));
    }

    #[test]
    fn values_are_read_as_today() {
        // A placeholder: no real account id in the repository.
        let account = "0".repeat(12);
        let settings = read(&[
            ("MCP_AUTH", "oauth"),
            ("MCP_OAUTH_ISSUER", "https://issuer.example.com"),
            ("MCP_OAUTH_AUDIENCE", "https://api.example.com/prod/mcp"),
            ("MCP_OAUTH_SCOPES_SUPPORTED", "mcp:read, mcp:write"),
            ("MCP_OAUTH_JWKS_MAX_AGE_S", " 600 "),
            ("MCP_RATE_LIMIT_TABLE", " limits "),
            ("MCP_RATE_LIMIT_BUDGET_MS", " 500 "),
            ("MCP_INVOKE_MODE", "RESPONSE_STREAM"),
            ("MCP_REST_TRANSFER_MODE", "STREAM"),
            (
                "MCP_ALLOWED_ORIGINS",
                " https://a.example ,, https://b.example",
            ),
            ("MCP_MAX_BODY_BYTES", "lots"),
            ("MCP_MAX_BATCH", " 5 "),
            ("MCP_ACCOUNT_ID", &account),
            ("MCP_CONFORMANCE_FIXTURES", "1"),
            ("MCP_METRICS", "off"),
            ("MCP_METRICS_NAMESPACE", " mcp/prod "),
        ])
        .expect("valid");
        assert_eq!(settings.auth, AuthMode::OAuth);
        assert_eq!(
            settings.oauth.required(),
            Ok((
                "https://issuer.example.com",
                "https://api.example.com/prod/mcp"
            ))
        );
        assert_eq!(settings.oauth.jwks_max_age_s, Some(600));
        assert_eq!(settings.rate_limit_table.as_deref(), Some("limits"));
        assert_eq!(settings.rate_limit_budget_ms, Some(500));
        assert_eq!(settings.invoke_mode, InvokeMode::ResponseStream);
        assert_eq!(settings.rest_transfer_mode, TransferMode::Stream);
        assert_eq!(
            settings.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(settings.max_body_bytes, None, "not a number: the default");
        assert_eq!(settings.max_batch, Some(5));
        assert_eq!(settings.account_id.as_deref(), Some(account.as_str()));
        assert!(settings.conformance_fixtures);
        assert!(settings.metrics_off);
        assert_eq!(settings.metrics(), None, "off");
        assert_eq!(settings.metrics_namespace.as_deref(), Some("mcp/prod"));
        assert_eq!(
            FunctionSettings::default().metrics(),
            Some(DEFAULT_METRICS_NAMESPACE)
        );
        // A budget without a table is not read.
        assert_eq!(
            read(&[("MCP_RATE_LIMIT_BUDGET_MS", "soon")]),
            Ok(FunctionSettings::default())
        );
    }

    #[test]
    fn errors_name_the_setting_as_before() {
        assert_eq!(
            message(&[("MCP_AUTH", " none ")]),
            "MCP_AUTH=\"none\": use iam or oauth"
        );
        assert_eq!(
            message(&[("MCP_OAUTH_AUDIENCE", "https://a.example/mcp")]),
            "MCP_OAUTH_AUDIENCE is set but MCP_AUTH is not oauth: set MCP_AUTH=oauth to check \
             bearer tokens, or unset the MCP_OAUTH_* variables to trust IAM"
        );
        assert_eq!(
            message(&[("MCP_AUTH", "oauth")]),
            "MCP_AUTH=oauth needs MCP_OAUTH_ISSUER: the issuer URL that tokens carry in `iss`"
        );
        assert_eq!(
            message(&[
                ("MCP_AUTH", "oauth"),
                ("MCP_OAUTH_ISSUER", "https://i.example")
            ]),
            "MCP_AUTH=oauth needs MCP_OAUTH_AUDIENCE: this endpoint's canonical URL, which \
             tokens must name in `aud`"
        );
        assert_eq!(
            Setting::RateLimits.invalid("not JSON").to_string(),
            "MCP_RATE_LIMITS: not JSON"
        );
        assert_eq!(
            message(&[("MCP_INVOKE_MODE", "STREAM")]),
            "MCP_INVOKE_MODE=\"STREAM\": use BUFFERED or RESPONSE_STREAM, the Function URL's \
             InvokeMode"
        );
        assert_eq!(
            message(&[("MCP_REST_TRANSFER_MODE", "RESPONSE_STREAM")]),
            "MCP_REST_TRANSFER_MODE=\"RESPONSE_STREAM\": use BUFFERED or STREAM, the REST \
             integration's ResponseTransferMode"
        );
        assert_eq!(
            message(&[
                ("MCP_RATE_LIMIT_TABLE", "t"),
                ("MCP_RATE_LIMIT_BUDGET_MS", "0")
            ]),
            "MCP_RATE_LIMIT_BUDGET_MS is \"0\": give whole milliseconds above 0, e.g. 500"
        );
        assert_eq!(
            message(&[("MCP_OAUTH_JWKS_MAX_AGE_S", "60")]),
            "MCP_OAUTH_JWKS_MAX_AGE_S is set but MCP_AUTH is not oauth: set MCP_AUTH=oauth to \
             check bearer tokens, or unset the MCP_OAUTH_* variables to trust IAM"
        );
        assert_eq!(
            message(&[("MCP_OAUTH_JWKS_MAX_AGE_S", "an hour")]),
            "MCP_OAUTH_JWKS_MAX_AGE_S: \"an hour\" is not whole seconds above 0, e.g. 3600"
        );
        for (setting, value, why) in [
            (
                "MCP_RATE_LIMITS",
                r#"{"default": "5/60s"}"#,
                "every gateway caller would share one count per tool",
            ),
            (
                "MCP_TOOL_SCOPES",
                r#"{"word_count": ["a"]}"#,
                "no gateway caller's scopes could be checked",
            ),
        ] {
            assert_eq!(
                message(&[("MCP_GATEWAY_TARGET", "1"), (setting, value)]),
                format!(
                    "MCP_GATEWAY_TARGET=1 cannot go with {setting}: an AgentCore Gateway invokes \
                     its Lambda target with the tool's arguments and its own ids, never its \
                     caller's identity, so {why}. Serve them on the Function URL (--rung url) or \
                     the internet rung (--exposure internet), where each caller is known"
                )
            );
        }
        let oauth = message(&[
            ("MCP_GATEWAY_TARGET", "1"),
            ("MCP_AUTH", "oauth"),
            ("MCP_OAUTH_ISSUER", "https://i.example"),
            ("MCP_OAUTH_AUDIENCE", "https://a.example/mcp"),
        ]);
        assert!(oauth.starts_with("MCP_GATEWAY_TARGET=1 cannot go with MCP_AUTH:"));
        assert!(oauth.contains("carries no token to check"), "{oauth}");
        assert!(
            read(&[("MCP_GATEWAY_TARGET", " 1 "), ("MCP_RATE_LIMITS", " ")])
                .expect("a gateway target")
                .gateway_target
        );
        assert_eq!(
            message(&[("MCP_MAX_BATCH", "0")]),
            "MCP_MAX_BATCH: \"0\" is not a whole number of messages above 0, e.g. 20"
        );
        assert_eq!(
            message(&[("MCP_METRICS", "false")]),
            "MCP_METRICS: \"false\": use on or off"
        );
        for bad in ["AWS/Lambda", "tools!", &"n".repeat(256)] {
            let refused = message(&[("MCP_METRICS_NAMESPACE", bad)]);
            assert!(
                refused.starts_with("MCP_METRICS_NAMESPACE: ") && refused.contains("namespace"),
                "{refused}"
            );
        }
    }

    /// Text that survives the environment unchanged: not blank, no
    /// surrounding spaces, no commas (an origin list's separator).
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9:/._{}\\[\\]\"-]([a-zA-Z0-9:/._ {}\\[\\]\"-]{0,20}[a-zA-Z0-9:/._{}\\[\\]\"-])?"
    }

    prop_compose! {
        fn settings()(
            oauth in proptest::option::of((text(), text(), proptest::option::of(text()),
                proptest::option::of(text()), proptest::option::of(1u64..))),
            tool_scopes in proptest::option::of(".{0,20}"),
            resource_scopes in proptest::option::of(".{0,20}"),
            prompt_scopes in proptest::option::of(".{0,20}"),
            rate_limits in proptest::option::of(text()),
            table in proptest::option::of((text(), proptest::option::of(1u64..))),
            streaming in any::<bool>(),
            rest_streaming in any::<bool>(),
            allowed_origins in proptest::collection::vec(text(), 0..3),
            max_body_bytes in proptest::option::of(any::<usize>()),
            max_batch in proptest::option::of(1usize..),
            account_id in proptest::option::of(text()),
            conformance_fixtures in any::<bool>(),
            gateway_target in any::<bool>(),
            metrics_off in any::<bool>(),
            metrics_namespace in proptest::option::of("[a-zA-Z0-9/_.#:-]{1,20}"),
            state_key_secret_arn in proptest::option::of("arn:aws:secretsmanager:[a-z0-9:-]{1,20}"),
            rendezvous_table in proptest::option::of("[a-zA-Z0-9_.-]{3,20}"),
        ) -> FunctionSettings {
            let (auth, oauth) = match oauth {
                None => (AuthMode::Iam, OAuthSettings::default()),
                Some((issuer, audience, jwks_url, scopes_supported, jwks_max_age_s)) => (
                    AuthMode::OAuth,
                    OAuthSettings {
                        issuer: Some(issuer), audience: Some(audience), jwks_url, scopes_supported,
                        jwks_max_age_s,
                    },
                ),
            };
            // Only where a gateway target may be (no identity needed).
            let gateway_target = gateway_target
                && auth == AuthMode::Iam
                && rate_limits.is_none()
                && tool_scopes.as_deref().is_none_or(|t| t.trim().is_empty());
            FunctionSettings {
                auth,
                oauth,
                tool_scopes,
                resource_scopes,
                prompt_scopes,
                rate_limits,
                rate_limit_table: table.as_ref().map(|(t, _)| t.clone()),
                rate_limit_budget_ms: table.and_then(|(_, ms)| ms),
                invoke_mode: if streaming { InvokeMode::ResponseStream } else { InvokeMode::Buffered },
                rest_transfer_mode: if rest_streaming { TransferMode::Stream } else { TransferMode::Buffered },
                allowed_origins,
                max_body_bytes,
                max_batch,
                account_id,
                conformance_fixtures,
                gateway_target,
                metrics_off,
                metrics_namespace,
                state_key_secret_arn,
                rendezvous_table,
            }
        }
    }

    proptest! {
        #[test]
        fn to_env_round_trips(settings in settings()) {
            let env = settings.to_env();
            let order: Vec<_> = Setting::ALL
                .iter()
                .map(|s| s.name())
                .filter(|name| env.iter().any(|(n, _)| n == name))
                .collect();
            let written: Vec<_> = env.iter().map(|(name, _)| *name).collect();
            prop_assert_eq!(written, order, "Setting::ALL order, each once");
            let map: HashMap<_, _> = env.into_iter().collect();
            let read = FunctionSettings::from_lookup(|name| map.get(name).cloned());
            prop_assert_eq!(read, Ok(settings));
        }
    }
}
