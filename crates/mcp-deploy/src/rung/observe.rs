//! Seeing the function run, an add-on to any rung: the namespace of its
//! metrics (always), X-Ray active tracing (`--tracing`), and a CloudWatch
//! dashboard with alarms on its error rate and throttles (`--dashboard`).
//!
//! The function writes its metrics itself (embedded metric format, see
//! `mcp_lambda::metrics`), in `mcp-ladder/<stack>`; the dashboard draws
//! them per tool with `SEARCH` expressions, so a tool added later shows up
//! without a redeploy.

use mcp_settings::Setting;
use serde_json::{Value, json};

use crate::aws::{Aws, explain};
use crate::rung::{Check, Rung};
use crate::teardown::gone_by;
use crate::template::{Expr, Resource, SpecError, StackSpec, Template, ids};

/// The dashboard's logical id.
pub const DASHBOARD: &str = "McpDashboard";
/// The error-rate alarm's logical id.
pub const ERROR_ALARM: &str = "McpErrorRateAlarm";
/// The throttle alarm's logical id.
pub const THROTTLE_ALARM: &str = "McpThrottleAlarm";
/// The output naming the dashboard.
pub const OUTPUT: &str = "Dashboard";
/// The metrics' namespace in a stack (`Fn::Sub`).
pub const NAMESPACE: &str = "mcp-ladder/${AWS::StackName}";
/// The share of failed calls, in percent over five minutes, that raises
/// the error-rate alarm.
pub const ERROR_RATE_PERCENT: f64 = 5.0;
/// The alarms' period, in seconds.
const PERIOD_S: u32 = 300;

/// What this add-on adds beyond the namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObserveSpec {
    /// X-Ray active tracing on the function.
    pub tracing: bool,
    /// The dashboard and its alarms.
    pub dashboard: bool,
}

/// The flags of this add-on.
#[derive(Debug, Clone, clap::Args)]
pub struct ObserveArgs {
    /// Turn on X-Ray active tracing (the function's TracingConfig Active,
    /// and its role's right to send trace segments).
    #[arg(long)]
    pub tracing: bool,
    /// Add a CloudWatch dashboard (calls, errors, p50/p99 per tool,
    /// throttles, limiter refusals) and alarms on the error rate and on
    /// throttles; teardown proves them gone with the stack.
    #[arg(long)]
    pub dashboard: bool,
}

impl ObserveArgs {
    /// What these flags ask for.
    pub fn spec(&self) -> ObserveSpec {
        ObserveSpec {
            tracing: self.tracing,
            dashboard: self.dashboard,
        }
    }
}

/// The add-on.
#[derive(Debug)]
pub struct Observe;

impl Rung for Observe {
    fn name(&self) -> &'static str {
        "observability"
    }

    fn configure_local(&self, spec: &StackSpec, config: &mut lambda_emulator::EmulatorConfig) {
        if spec.observe.tracing {
            config.function.tracing = lambda_emulator::runtime::Tracing::Active;
        }
    }

    fn synth(&self, spec: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        t.set(Setting::MetricsNamespace, Expr::sub(NAMESPACE));
        if spec.observe.tracing {
            t.function_properties
                .insert("TracingConfig".into(), json!({"Mode": "Active"}));
            // X-Ray's actions take no resource: "*" is the only resource
            // they can be granted on (AWSXRayDaemonWriteAccess does the same).
            t.allow_function(
                "send-traces",
                json!(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
                Expr::text("*"),
            );
        }
        if spec.observe.dashboard {
            let body = serde_json::to_string(&dashboard_body()).unwrap_or_default();
            let dashboard = json!({
                "DashboardName": Expr::sub("${AWS::StackName}-mcp"),
                "DashboardBody": Expr::sub(body),
            });
            t.insert(
                DASHBOARD,
                Resource::new("AWS::CloudWatch::Dashboard", dashboard),
            );
            t.insert(ERROR_ALARM, error_rate_alarm());
            t.insert(THROTTLE_ALARM, throttle_alarm());
            t.output(
                OUTPUT,
                Some("The function's CloudWatch dashboard"),
                Expr::reference(DASHBOARD),
            );
        }
        Ok(())
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        const CHECKS: [(&str, Check); 2] = [
            (
                "AWS::CloudWatch::Dashboard",
                gone_by!(
                    "dashboard",
                    |aws, id| aws.cloudwatch.get_dashboard().dashboard_name(id),
                    is_dashboard_not_found_error
                ),
            ),
            ("AWS::CloudWatch::Alarm", Check::Gone(alarm_gone)),
        ];
        &CHECKS
    }
}

/// An alarm is gone when `DescribeAlarms` by its name lists none.
fn alarm_gone<'a>(
    aws: &'a Aws,
    name: &'a str,
) -> futures_util::future::BoxFuture<'a, anyhow::Result<bool>> {
    Box::pin(async move {
        let out = aws
            .cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .map_err(|e| explain(e, &format!("checking alarm {name}")))?;
        Ok(out.metric_alarms().is_empty() && out.composite_alarms().is_empty())
    })
}

/// `SEARCH` for one of the function's metrics by `dimension`, as `stat`.
fn search(metric: &str, dimension: &str, stat: &str, id: &str) -> Value {
    json!({
        "expression": format!(
            "SEARCH('{{\"{NAMESPACE}\",{dimension}}} MetricName=\"{metric}\"', '{stat}', 60)"
        ),
        "id": id,
        "label": "",
    })
}

/// One graph of the dashboard, in a grid two wide.
fn widget(index: u32, title: &str, stat: &str, metrics: Value) -> Value {
    json!({
        "type": "metric",
        "x": (index % 2) * 12,
        "y": (index / 2) * 6,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stat": stat,
            "period": 60,
            "metrics": metrics,
        },
    })
}

/// The dashboard's body (before `Fn::Sub`): calls per tool, calls by
/// outcome, p50 and p99 per tool, errors, throttles and limiter refusals.
fn dashboard_body() -> Value {
    let function = "${AWS::StackName}-mcp";
    let calls = |outcome: &str| json!([NAMESPACE, "Calls", "outcome", outcome, {"label": outcome}]);
    let lambda = |metric: &str| json!(["AWS/Lambda", metric, "FunctionName", function]);
    json!({"widgets": [
        widget(0, "Calls per tool", "Sum", json!([[search("Calls", "tool", "Sum", "calls")]])),
        widget(1, "Calls by outcome", "Sum", json!([[search("Calls", "outcome", "Sum", "outcomes")]])),
        widget(2, "Duration p50 per tool (ms)", "p50", json!([[search("Duration", "tool", "p50", "p50")]])),
        widget(3, "Duration p99 per tool (ms)", "p99", json!([[search("Duration", "tool", "p99", "p99")]])),
        widget(4, "Errors", "Sum", json!([calls("failed"), calls("tool_error"), lambda("Errors")])),
        widget(5, "Throttles, limiter refusals, cold starts", "Sum", json!([
            lambda("Throttles"),
            calls("limited"),
            calls("refused_scope"),
            [NAMESPACE, "ColdStart", {"label": "cold starts"}],
        ])),
    ]})
}

/// Failed calls over all calls, in percent, above [`ERROR_RATE_PERCENT`]
/// for one period; no calls is not an alarm.
fn error_rate_alarm() -> Resource {
    let stat = |id: &str, dimensions: Value| {
        json!({
            "Id": id,
            "ReturnData": false,
            "MetricStat": {
                "Metric": {"Namespace": Expr::sub(NAMESPACE), "MetricName": "Calls", "Dimensions": dimensions},
                "Period": PERIOD_S,
                "Stat": "Sum",
            },
        })
    };
    Resource::new(
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": Expr::sub("${AWS::StackName}-mcp-error-rate"),
            "AlarmDescription": format!(
                "Over {ERROR_RATE_PERCENT}% of the MCP server's tool calls failed (outcome failed) in five minutes"
            ),
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": ERROR_RATE_PERCENT,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "Metrics": [
                stat("failed", json!([{"Name": "outcome", "Value": "failed"}])),
                stat("calls", json!([])),
                {"Id": "rate", "Expression": "100 * FILL(failed, 0) / calls",
                 "Label": "failed calls (%)", "ReturnData": true},
            ],
        }),
    )
}

/// Any throttled invocation of the function within one period.
fn throttle_alarm() -> Resource {
    Resource::new(
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": Expr::sub("${AWS::StackName}-mcp-throttles"),
            "AlarmDescription": "Lambda throttled invocations of the MCP server (its concurrency is exhausted)",
            "Namespace": "AWS/Lambda",
            "MetricName": "Throttles",
            "Dimensions": [{"Name": "FunctionName", "Value": Expr::reference(ids::FUNCTION)}],
            "Statistic": "Sum",
            "Period": PERIOD_S,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{environment, synth};

    fn with(observe: ObserveSpec) -> Value {
        synth(&StackSpec {
            observe,
            ..StackSpec::default()
        })
        .unwrap()
    }

    #[test]
    fn every_stack_names_its_namespace_and_only_asked_for_parts_are_added() {
        let plain = with(ObserveSpec::default());
        assert_eq!(
            environment(&plain)[Setting::MetricsNamespace.name()],
            json!({"Fn::Sub": NAMESPACE})
        );
        let function = &plain["Resources"][ids::FUNCTION]["Properties"];
        assert!(function.get("TracingConfig").is_none());
        assert!(plain["Resources"].get(DASHBOARD).is_none());
        assert!(!crate::template::to_text(&plain).contains("xray:"));

        let traced = with(ObserveSpec {
            tracing: true,
            dashboard: false,
        });
        assert_eq!(
            traced["Resources"][ids::FUNCTION]["Properties"]["TracingConfig"],
            json!({"Mode": "Active"})
        );
        let policies = &traced["Resources"][ids::ROLE]["Properties"]["Policies"];
        assert_eq!(
            policies[1]["PolicyDocument"]["Statement"][0]["Action"],
            json!(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
        );
    }

    #[test]
    fn the_dashboard_draws_the_functions_metrics_and_the_alarms_watch_them() {
        let t = with(ObserveSpec {
            tracing: false,
            dashboard: true,
        });
        let dashboard = &t["Resources"][DASHBOARD]["Properties"];
        let body = dashboard["DashboardBody"]["Fn::Sub"].as_str().unwrap();
        let body: Value = serde_json::from_str(body).unwrap();
        let widgets = body["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), 6);
        let text = body.to_string();
        for needed in [
            "MetricName=\\\"Duration\\\"', 'p99'",
            "\"Throttles\"",
            "\"limited\"",
        ] {
            assert!(text.contains(needed), "{needed} in {text}");
        }
        let rate = &t["Resources"][ERROR_ALARM]["Properties"];
        assert_eq!(
            rate["Metrics"][2]["Expression"],
            "100 * FILL(failed, 0) / calls"
        );
        assert_eq!(rate["Threshold"], ERROR_RATE_PERCENT);
        let throttles = &t["Resources"][THROTTLE_ALARM]["Properties"];
        assert_eq!(throttles["MetricName"], "Throttles");
        assert_eq!(
            throttles["Dimensions"][0]["Value"],
            json!({"Ref": ids::FUNCTION})
        );
        assert_eq!(t["Outputs"][OUTPUT]["Value"], json!({"Ref": DASHBOARD}));
    }
}
