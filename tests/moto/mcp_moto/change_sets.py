"""Teaches moto 5.2.5 what CloudFormation does with a stack's outputs when a change set
runs: AWS computes them from the template the change set carried, so `DescribeStacks`
returns them for stacks made or updated through change sets exactly as for `CreateStack`.
moto computes a stack's outputs only when the stack object is made (from the template it
had then: none, for a stack born of a change set) and in `UpdateStack`, so mcp-deploy would
see a stack without outputs. Here, executing a change set also recomputes them.
"""

from __future__ import annotations

from moto.cloudformation.models import ChangeSet

_apply = ChangeSet.apply


def _apply_and_compute_outputs(self: ChangeSet) -> None:
    _apply(self)
    stack = self.stack
    stack.template = self.template
    stack._parse_template()  # noqa: SLF001 - moto's own way to read a template
    stack.output_map = stack._create_output_map()  # noqa: SLF001


ChangeSet.apply = _apply_and_compute_outputs  # type: ignore[method-assign]


# AWS answers a change set with nothing to change by creating it FAILED with the reason
# "The submitted information didn't contain changes..." (moto's models do the same), but
# moto's `CreateChangeSet` handler first refuses such a request outright, as `UpdateStack`
# does ("No updates are to be performed."). That refusal belongs to `UpdateStack` only.
from moto.cloudformation.responses import CloudFormationResponse  # noqa: E402

_create_change_set = CloudFormationResponse.create_change_set


def _create_change_set_as_aws(self: CloudFormationResponse) -> object:
    self._validate_different_update = lambda *args, **kwargs: None  # type: ignore[method-assign]
    return _create_change_set(self)


CloudFormationResponse.create_change_set = _create_change_set_as_aws  # type: ignore[method-assign]
