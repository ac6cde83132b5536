"""Ends of time-bound grants as EventBridge Scheduler one-time schedules that put the revoke on the queue.

Each schedule is `at(…)` in UTC, deletes itself once it has run, and is named from the grant, so a later
end of the same access replaces it. Scheduler accepts only times to come: an end that has already passed
when it is arranged (a redelivered grant, say) is scheduled a minute from now and still sends the revoke
of that end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from access_sync.models import ids
from access_sync.models.provisioning import GrantEnd
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_code, aws_errors

SOONEST = timedelta(minutes=1)
# Scheduler retries a failed delivery to the queue with backoff for up to a day before giving up on it.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


class ScheduledGrantEnds:
    def __init__(
        self,
        group: str,
        role_arn: str,
        queue_arn: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.queue_arn = queue_arn
        self.clock = clock
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("scheduler")
        return self._client

    def _schedule(self, end: GrantEnd) -> dict[str, Any]:
        at = max(end.when, (self.clock() + SOONEST).replace(microsecond=0))
        return {
            "Name": end.name,
            "GroupName": self.group,
            "Description": f"access-sync: revoke {end.grant_id} at {end.expires_at}"[:512],
            "ScheduleExpression": f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Target": {
                "Arn": self.queue_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps(end.revoke_request()),
                "RetryPolicy": RETRY_POLICY,
            },
        }

    def arrange(self, end: GrantEnd) -> str:
        schedule = self._schedule(end)
        with aws_errors(f"schedule the end of {end.grant_id} in the schedule group {self.group}"):
            try:
                self.client.create_schedule(**schedule)
            except ClientError as exc:
                if aws_code(exc) != "ConflictException":
                    raise
                self.client.update_schedule(**schedule)  # a later end of the same access replaces the earlier
        return f"schedule {self.group}/{end.name}"

    def pending_request_id(self, grant_id: str) -> str | None:
        with aws_errors(f"read the pending end of {grant_id} in the schedule group {self.group}"):
            try:
                schedule = self.client.get_schedule(Name=ids.grant_end_name(grant_id), GroupName=self.group)
            except ClientError as exc:
                if aws_code(exc) == "ResourceNotFoundException":
                    return None
                raise
        try:
            return str(json.loads(schedule["Target"]["Input"])["request_id"])
        except (KeyError, TypeError, ValueError):
            return None  # not a schedule access-sync made

    def cancel(self, grant_id: str) -> None:
        with aws_errors(f"delete the pending end of {grant_id} in the schedule group {self.group}"):
            try:
                self.client.delete_schedule(Name=ids.grant_end_name(grant_id), GroupName=self.group)
            except ClientError as exc:
                if aws_code(exc) != "ResourceNotFoundException":
                    raise
