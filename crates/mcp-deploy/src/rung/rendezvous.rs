//! Where a call that asks the client waits for the answers, an add-on to
//! every stack: at the handshake revisions (2025-11-25 and older) a tool's
//! elicitation, sampling or roots request goes out on the call's stream and
//! the call is parked until the client answers, by POSTs and a GET that any
//! instance may serve (docs/input-required.md). The stack makes a DynamoDB
//! table with the rate-limit table's contract (on demand: nothing to pay
//! while no call asks), gives the function the right to park, answer and
//! take calls in it (`dynamodb:UpdateItem` only), and names it in
//! `MCP_RENDEZVOUS_TABLE`.

use futures_util::future::BoxFuture;
use mcp_settings::Setting;

use crate::aws::Aws;
use crate::progress::Progress;
use crate::rung::rate_limit::{TABLE_CHECKS, contract_table, tables_named};
use crate::rung::{Check, Rung};
use crate::teardown::Recorded;
use crate::template::{Expr, SpecError, StackSpec, Template};

/// The table's logical id.
pub const TABLE: &str = "McpRendezvousTable";

/// What the function does in the table: every step (park a call, keep an
/// answer, take a call) is one conditional `UpdateItem`.
pub const ACTIONS: [&str; 1] = ["dynamodb:UpdateItem"];

/// The add-on.
#[derive(Debug)]
pub struct Rendezvous;

impl Rung for Rendezvous {
    fn name(&self) -> &'static str {
        "rendezvous"
    }

    fn synth(&self, _: &StackSpec, t: &mut Template) -> Result<(), SpecError> {
        t.insert(TABLE, contract_table());
        t.set(Setting::RendezvousTable, Expr::reference(TABLE));
        t.allow_function("park-calls", ACTIONS, Expr::get_att(TABLE, "Arn"));
        Ok(())
    }

    fn checks(&self) -> &'static [(&'static str, Check)] {
        &TABLE_CHECKS
    }

    fn named_after<'a>(
        &'a self,
        aws: &'a Aws,
        stack_name: &'a str,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Vec<Recorded>> {
        Box::pin(tables_named(aws, stack_name, TABLE, progress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{environment, ids, synth};

    #[test]
    fn every_stack_has_a_table_to_park_calls_in_and_the_right_to_use_it_only() {
        let t = synth(&StackSpec::default()).expect("synthesises");
        let table = &t["Resources"][TABLE];
        assert_eq!(table["Type"], "AWS::DynamoDB::Table");
        assert_eq!(table["DeletionPolicy"], "Delete");
        assert_eq!(
            table["Properties"]["TimeToLiveSpecification"]["AttributeName"],
            "ttl"
        );
        assert_eq!(
            environment(&t)[Setting::RendezvousTable.name()],
            serde_json::json!({"Ref": TABLE})
        );
        let policies = t["Resources"][ids::ROLE]["Properties"]["Policies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let park = policies
            .iter()
            .find(|p| p["PolicyName"] == "park-calls")
            .expect("the function may park calls");
        let statement = &park["PolicyDocument"]["Statement"][0];
        assert_eq!(statement["Action"], serde_json::json!(ACTIONS));
        assert_eq!(
            statement["Resource"],
            serde_json::json!({"Fn::GetAtt": [TABLE, "Arn"]})
        );
    }
}
