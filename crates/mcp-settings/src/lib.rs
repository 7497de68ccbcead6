//! PLACEHOLDER: replaced by the fn-side branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Setting {
    Auth,
    OAuthIssuer,
    OAuthAudience,
    OAuthJwksUrl,
    OAuthScopesSupported,
    ToolScopes,
    RateLimits,
    RateLimitTable,
    RateLimitBudgetMs,
    InvokeMode,
    AllowedOrigins,
    MaxBodyBytes,
    AccountId,
    ConformanceFixtures,
}
impl Setting {
    /// The variable's name.
    pub const fn name(self) -> &'static str {
        match self {
            Setting::Auth => "MCP_AUTH",
            Setting::OAuthIssuer => "MCP_OAUTH_ISSUER",
            Setting::OAuthAudience => "MCP_OAUTH_AUDIENCE",
            Setting::OAuthJwksUrl => "MCP_OAUTH_JWKS_URL",
            Setting::OAuthScopesSupported => "MCP_OAUTH_SCOPES_SUPPORTED",
            Setting::ToolScopes => "MCP_TOOL_SCOPES",
            Setting::RateLimits => "MCP_RATE_LIMITS",
            Setting::RateLimitTable => "MCP_RATE_LIMIT_TABLE",
            Setting::RateLimitBudgetMs => "MCP_RATE_LIMIT_BUDGET_MS",
            Setting::InvokeMode => "MCP_INVOKE_MODE",
            Setting::AllowedOrigins => "MCP_ALLOWED_ORIGINS",
            Setting::MaxBodyBytes => "MCP_MAX_BODY_BYTES",
            Setting::AccountId => "MCP_ACCOUNT_ID",
            Setting::ConformanceFixtures => "MCP_CONFORMANCE_FIXTURES",
        }
    }
}
