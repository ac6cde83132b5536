"""What the provisioning service needs from a connector: one method per action, each giving an ActionResult.

`redelivered` is true when an earlier delivery of the same request may have carried the change out before it
died; a provisioner whose change cannot be repeated safely (creating an employee, adding an admin) looks for
that change first instead of making it again.
"""

from __future__ import annotations

from typing import Protocol

from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    RevokeRequest,
)


class Provisioner(Protocol):
    def grant(self, request: GrantRequest, redelivered: bool = False) -> ActionResult: ...

    def revoke(self, request: RevokeRequest, redelivered: bool = False) -> ActionResult: ...

    def create_account(self, request: CreateAccountRequest, redelivered: bool = False) -> ActionResult: ...

    def delete_resource(self, request: DeleteResourceRequest, redelivered: bool = False) -> ActionResult: ...

    def close(self) -> None: ...
