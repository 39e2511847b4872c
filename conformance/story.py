#!/usr/bin/env python3
"""PRODUCT.md, steps 1 to 8, played against a running commons-ledger through
the Python client generated from openapi/openapi.json (issue #8).

Only the generated package is used to talk to the service: its typed request
models, its api functions and its typed responses. Each step asserts the
figures PRODUCT.md promises. Called by conformance/run.sh:

    story.py --base-url http://127.0.0.1:PORT --admin-email admin@example.org \
             --admin-password-file FILE --out target/conformance/story-sqlite.json

The ids it created are written to --out (schemathesis aims at them).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import types
from decimal import Decimal
from http import HTTPStatus
from typing import Any

# The generated client (target/conformance/client, on PYTHONPATH).
from commons_ledger_client import AuthenticatedClient, Client  # noqa: E402
from commons_ledger_client.api.accounts import create_account, list_balances  # noqa: E402
from commons_ledger_client.api.agents import create_agent  # noqa: E402
from commons_ledger_client.api.auth import (  # noqa: E402
    create_acceptance,
    create_token,
    get_me,
    list_my_invitations,
)
from commons_ledger_client.api.contributions import (  # noqa: E402
    create_contribution,
    create_rate,
    create_review,
    get_member_value_account,
    get_my_value_account,
)
from commons_ledger_client.api.distributions import (  # noqa: E402
    create_approval,
    create_distribution,
    create_execution,
    create_rule_set,
    get_distribution,
)
from commons_ledger_client.api.funds import (  # noqa: E402
    create_expense,
    create_expense_category,
    create_grant,
    create_in_kind_allocation,
    create_payout,
    get_grant,
)
from commons_ledger_client.api.members import add_member, create_invitation  # noqa: E402
from commons_ledger_client.api.projects import create_project  # noqa: E402
from commons_ledger_client.api.reports import (  # noqa: E402
    export_grant_csv,
    export_journal_csv,
    export_journal_hledger,
)
from commons_ledger_client.api.ledger import get_ledger_verification, list_events  # noqa: E402
from commons_ledger_client.api.transactions import get_transaction  # noqa: E402
from commons_ledger_client.models.event_page import EventPage  # noqa: E402
from commons_ledger_client.models.verification import Verification  # noqa: E402
from commons_ledger_client.models.add_member_request import AddMemberRequest  # noqa: E402
from commons_ledger_client.models.agent import Agent  # noqa: E402
from commons_ledger_client.models.create_in_kind_allocation_request import CreateInKindAllocationRequest  # noqa: E402
from commons_ledger_client.models.in_kind_allocation import InKindAllocation  # noqa: E402
from commons_ledger_client.models.execution_request import ExecutionRequest  # noqa: E402
from commons_ledger_client.models.agent_kind_dto import AgentKindDto  # noqa: E402
from commons_ledger_client.models.account import Account  # noqa: E402
from commons_ledger_client.models.balance_page import BalancePage  # noqa: E402
from commons_ledger_client.models.base_dto import BaseDto  # noqa: E402
from commons_ledger_client.models.cap_dto_type_0 import CapDtoType0  # noqa: E402
from commons_ledger_client.models.cap_dto_type_0_type import CapDtoType0Type  # noqa: E402
from commons_ledger_client.models.contribution import Contribution  # noqa: E402
from commons_ledger_client.models.contribution_kind_dto import ContributionKindDto  # noqa: E402
from commons_ledger_client.models.contribution_status_dto import ContributionStatusDto  # noqa: E402
from commons_ledger_client.models.create_account_request import CreateAccountRequest  # noqa: E402
from commons_ledger_client.models.create_agent_request import CreateAgentRequest  # noqa: E402
from commons_ledger_client.models.create_contribution_request import CreateContributionRequest  # noqa: E402
from commons_ledger_client.models.create_distribution_request import CreateDistributionRequest  # noqa: E402
from commons_ledger_client.models.create_expense_request import CreateExpenseRequest  # noqa: E402
from commons_ledger_client.models.create_grant_request import CreateGrantRequest  # noqa: E402
from commons_ledger_client.models.create_invitation_request import CreateInvitationRequest  # noqa: E402
from commons_ledger_client.models.create_payout_request import CreatePayoutRequest  # noqa: E402
from commons_ledger_client.models.create_project_request import CreateProjectRequest  # noqa: E402
from commons_ledger_client.models.create_rate_request import CreateRateRequest  # noqa: E402
from commons_ledger_client.models.create_review_request import CreateReviewRequest  # noqa: E402
from commons_ledger_client.models.create_rule_set_request import CreateRuleSetRequest  # noqa: E402
from commons_ledger_client.models.create_token_request import CreateTokenRequest  # noqa: E402
from commons_ledger_client.models.dataset import Dataset  # noqa: E402
from commons_ledger_client.models.distribution import Distribution  # noqa: E402
from commons_ledger_client.models.distribution_status import DistributionStatus  # noqa: E402
from commons_ledger_client.models.expense import Expense  # noqa: E402
from commons_ledger_client.models.expense_category import ExpenseCategory  # noqa: E402
from commons_ledger_client.models.grant import Grant  # noqa: E402
from commons_ledger_client.models.grant_kind import GrantKind  # noqa: E402
from commons_ledger_client.models.invitation import Invitation  # noqa: E402
from commons_ledger_client.models.invitation_page import InvitationPage  # noqa: E402
from commons_ledger_client.models.licence_policy_dto import LicencePolicyDto  # noqa: E402
from commons_ledger_client.models.me import Me  # noqa: E402
from commons_ledger_client.models.member import Member  # noqa: E402
from commons_ledger_client.models.my_value_account import MyValueAccount  # noqa: E402
from commons_ledger_client.models.payout import Payout  # noqa: E402
from commons_ledger_client.models.problem import Problem  # noqa: E402
from commons_ledger_client.models.project import Project  # noqa: E402
from commons_ledger_client.models.quantity_unit_dto import QuantityUnitDto  # noqa: E402
from commons_ledger_client.models.rate import Rate  # noqa: E402
from commons_ledger_client.models.recipients_dto_type_0 import RecipientsDtoType0  # noqa: E402
from commons_ledger_client.models.recipients_dto_type_0_type import RecipientsDtoType0Type  # noqa: E402
from commons_ledger_client.models.kind_weights import KindWeights  # noqa: E402
from commons_ledger_client.models.recipients_dto_type_1 import RecipientsDtoType1  # noqa: E402
from commons_ledger_client.models.recipients_dto_type_1_type import RecipientsDtoType1Type  # noqa: E402
from commons_ledger_client.models.residue_dto_type_0 import ResidueDtoType0  # noqa: E402
from commons_ledger_client.models.residue_dto_type_0_type import ResidueDtoType0Type  # noqa: E402
from commons_ledger_client.models.review_decision import ReviewDecision  # noqa: E402
from commons_ledger_client.models.role_dto import RoleDto  # noqa: E402
from commons_ledger_client.models.rule_set_version import RuleSetVersion  # noqa: E402
from commons_ledger_client.models.share_dto_type_0 import ShareDtoType0  # noqa: E402
from commons_ledger_client.models.share_dto_type_0_type import ShareDtoType0Type  # noqa: E402
from commons_ledger_client.models.step_dto import StepDto  # noqa: E402
from commons_ledger_client.models.token import Token  # noqa: E402
from commons_ledger_client.models.transaction import Transaction  # noqa: E402
from commons_ledger_client.models.value_account import ValueAccount  # noqa: E402


class StoryFailure(AssertionError):
    pass


STEP = "setup"


def step(name: str) -> None:
    global STEP
    STEP = name
    print(f"--- {name}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise StoryFailure(f"[{STEP}] {message}")


def equal(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def parsed(response: Any, status: int, model: type) -> Any:
    """The typed body of a `sync_detailed` response, after checking its status
    and that the client parsed it into `model`."""
    body = response.content.decode("utf-8", "replace")[:2000]
    check(
        response.status_code == HTTPStatus(status),
        f"expected {status}, got {int(response.status_code)}: {body}",
    )
    check(
        isinstance(response.parsed, model),
        f"the client parsed a {status} into {type(response.parsed).__name__}, not {model.__name__}: {body}",
    )
    return response.parsed


def problem(response: Any, status: int, code: str) -> Problem:
    found = parsed(response, status, Problem)
    equal(found.code, code, "problem code")
    return found


class Story:
    def __init__(self, base_url: str, admin_email: str, admin_password: str) -> None:
        self.base_url = base_url
        self.anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
        # Every change the story makes: (method, path, who), as sent and
        # answered with a 2xx that was not a replay. The audit trail must
        # hold each one, with its actor (step 9).
        self.writes: list[tuple[str, str, str]] = []
        self.agent_of: dict[str, str] = {}
        self.admin = self.login(admin_email, admin_password)
        self.ids: dict[str, Any] = {}

    def recorder(self, email: str) -> Any:
        def saw(response: Any) -> None:
            request = response.request
            if (
                request.method in ("POST", "PATCH", "DELETE")
                and 200 <= response.status_code < 300
                and "idempotency-replayed" not in response.headers
                and not request.url.path.startswith(("/v1/agents", "/v1/auth"))
            ):
                self.writes.append((request.method, request.url.path, email))

        return saw

    def login(self, email: str, password: str) -> AuthenticatedClient:
        token = parsed(
            create_token.sync_detailed(
                client=self.anonymous, body=CreateTokenRequest(email=email, password=password)
            ),
            200,
            Token,
        )
        equal(token.token_type.value, "Bearer", "token_type")
        check(token.expires_in > 0, "expires_in")
        return AuthenticatedClient(
            base_url=self.base_url,
            token=token.access_token,
            raise_on_unexpected_status=True,
            httpx_args={"event_hooks": {"response": [self.recorder(email)]}},
        )

    def person(self, name: str, email: str, kind: AgentKindDto = AgentKindDto.PERSON) -> tuple[Agent, AuthenticatedClient]:
        password = f"{email} has a long passphrase"
        agent = parsed(
            create_agent.sync_detailed(
                client=self.admin,
                body=CreateAgentRequest(kind=kind, name=name, email=email, password=password),
            ),
            201,
            Agent,
        )
        equal(agent.has_credentials, True, f"{name} has credentials")
        self.agent_of[email] = str(agent.id)
        return agent, self.login(email, password)

    def balances(self, client: AuthenticatedClient) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        cursor: str | None = None
        while True:
            kwargs = {"cursor": cursor} if cursor else {}
            page = parsed(
                list_balances.sync_detailed(self.project, client=client, limit=1000, **kwargs), 200, BalancePage
            )
            for item in page.items:
                out[item.account] = Decimal(item.balance)
            cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
            if not cursor:
                return out

    def play(self, workdir: str) -> dict[str, Any]:
        # ------------------------------------------------------------------
        step("1. project, members and roles")
        owner, self.owner = self.person("Odile Owner", "owner@openair-lyon.org")
        t1, self.treasurer = self.person("Camille Martin", "camille@openair-lyon.org")
        t2, self.second = self.person("Bastien Second", "bastien@openair-lyon.org")
        c_time, self.c_time = self.person("Tina Time", "tina@openair-lyon.org")
        c_equipment, self.c_equipment = self.person("Eddy Equipment", "eddy@openair-lyon.org")
        c_data, self.c_data = self.person("Dana Data", "dana@openair-lyon.org")
        funder, self.funder = self.person(
            "Fondation Horizon", "grants@fondation-horizon.org", AgentKindDto.ORGANISATION
        )
        project = parsed(
            create_project.sync_detailed(
                client=self.owner,
                body=CreateProjectRequest(
                    name="OpenAir Lyon",
                    currency="EUR",
                    licence_policy=LicencePolicyDto.OPEN,
                ),
            ),
            201,
            Project,
        )
        self.project = project.id
        equal(project.currency, "EUR", "project currency")
        # Nobody is a member without consenting: the owner invites, each
        # person accepts; only an administrator adds a member directly.
        problem(
            add_member.sync_detailed(
                self.project, client=self.owner, body=AddMemberRequest(agent=t1.id, role=RoleDto.TREASURER)
            ),
            403,
            "admin_only",
        )
        for agent, client, role in [
            (t1, self.treasurer, RoleDto.TREASURER),
            (t2, self.second, RoleDto.TREASURER),
            (c_time, self.c_time, RoleDto.CONTRIBUTOR),
            (c_equipment, self.c_equipment, RoleDto.CONTRIBUTOR),
            (c_data, self.c_data, RoleDto.CONTRIBUTOR),
            (funder, self.funder, RoleDto.AUDITOR),
        ]:
            invitation = parsed(
                create_invitation.sync_detailed(
                    self.project, client=self.owner, body=CreateInvitationRequest(agent=agent.id, role=role)
                ),
                201,
                Invitation,
            )
            mine = parsed(list_my_invitations.sync_detailed(client=client), 200, InvitationPage)
            equal(
                [(i.id, i.project_name, i.role) for i in mine.items],
                [(invitation.id, "OpenAir Lyon", role)],
                f"{agent.name}'s invitations",
            )
            member = parsed(create_acceptance.sync_detailed(invitation.id, client=client), 201, Member)
            equal(member.role, role, f"{agent.name}'s role")
        me = parsed(get_me.sync_detailed(client=self.funder), 200, Me)
        equal([(m.project_id, m.role) for m in me.memberships], [(self.project, RoleDto.AUDITOR)], "funder's memberships")

        # ------------------------------------------------------------------
        step("2. a grant and a donation")
        for name, funder_category in [
            ("parts", "C.3 other goods, works and services"),
            ("in-kind-time", "A personnel costs"),
            ("in-kind-equipment", "C.2 equipment"),
            ("in-kind-data", "C.3 other goods, works and services"),
        ]:
            parsed(
                create_expense_category.sync_detailed(
                    self.project,
                    client=self.treasurer,
                    body=ExpenseCategory(name=name, funder_category=funder_category),
                ),
                201,
                ExpenseCategory,
            )
        grant = parsed(
            create_grant.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateGrantRequest(
                    funder=funder.id,
                    kind=GrantKind.GRANT,
                    reference="FH-2026-017",
                    amount="10000.00",
                    currency="EUR",
                    received_on=datetime.date(2026, 2, 1),
                    period_start=datetime.date(2026, 1, 1),
                    period_end=datetime.date(2026, 12, 31),
                    restriction="air-quality sensor programme",
                    eligible_categories=["parts"],
                    distributable=True,
                ),
            ),
            201,
            Grant,
        )
        equal((grant.received, grant.spent, grant.remaining), ("10000.00", "0.00", "10000.00"), "grant figures")
        donor = parsed(
            create_agent.sync_detailed(
                client=self.admin, body=CreateAgentRequest(kind=AgentKindDto.PERSON, name="A neighbour")
            ),
            201,
            Agent,
        )
        donation = parsed(
            create_grant.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateGrantRequest(
                    funder=donor.id,
                    kind=GrantKind.DONATION,
                    reference="DON-001",
                    amount="250.00",
                    currency="EUR",
                    received_on=datetime.date(2026, 2, 10),
                ),
            ),
            201,
            Grant,
        )
        equal(donation.received, "250.00", "donation received")

        # ------------------------------------------------------------------
        step("3-4. rates, contributions, the open-licence policy, valuations, reviews")
        for kind, per, rate, method in [
            (ContributionKindDto.TIME, QuantityUnitDto.HOUR, "25.00", "replacement cost"),
            (ContributionKindDto.EQUIPMENT, QuantityUnitDto.HOUR, "3.00", "rental equivalent"),
            (ContributionKindDto.DATA, QuantityUnitDto.DATASET, "500.00", "market price"),
        ]:
            parsed(
                create_rate.sync_detailed(
                    self.project,
                    client=self.treasurer,
                    body=CreateRateRequest(
                        kind=kind,
                        effective_from=datetime.date(2026, 1, 1),
                        rate=rate,
                        currency="EUR",
                        per=per,
                        method=method,
                        source="OpenAir Lyon rates 2026",
                    ),
                ),
                201,
                Rate,
            )
        refused = problem(
            create_contribution.sync_detailed(
                self.project,
                client=self.c_data,
                body=CreateContributionRequest(
                    kind=ContributionKindDto.DATA,
                    date=datetime.date(2026, 3, 10),
                    quantity="1",
                    unit=QuantityUnitDto.DATASET,
                    dataset=Dataset(title="Lyon air quality, non-commercial", licence="CC-BY-NC-4.0"),
                ),
            ),
            422,
            "licence_not_open",
        )
        check(isinstance(refused.errors, list) and len(refused.errors) == 1, "one field error")
        reason = refused.errors[0]
        equal((reason.field, reason.code), ("dataset.licence", "licence_not_open"), "the refused field")
        check("NC" in reason.message or "non" in reason.message.lower(), f"the message says why: {reason.message}")
        print(f"    CC-BY-NC-4.0 refused: {refused.detail} / {reason.field}: {reason.message}")
        work = [
            (
                self.c_time,
                CreateContributionRequest(
                    kind=ContributionKindDto.TIME,
                    date=datetime.date(2026, 3, 2),
                    quantity="12.5",
                    unit=QuantityUnitDto.HOUR,
                    description="sensor calibration",
                    skill="calibration",
                ),
                "312.50",
            ),
            (
                self.c_equipment,
                CreateContributionRequest(
                    kind=ContributionKindDto.EQUIPMENT,
                    date=datetime.date(2026, 3, 5),
                    quantity="40",
                    unit=QuantityUnitDto.HOUR,
                    equipment="3d-printer-1",
                    description="sensor housings",
                ),
                "120.00",
            ),
            (
                self.c_data,
                CreateContributionRequest(
                    kind=ContributionKindDto.DATA,
                    date=datetime.date(2026, 3, 10),
                    quantity="1",
                    unit=QuantityUnitDto.DATASET,
                    dataset=Dataset(
                        title="Lyon air quality, 1.2 million readings",
                        uri="doi:10.5281/zenodo.123",
                        checksum="sha256:abc",
                        licence="CC-BY-4.0",
                    ),
                ),
                "500.00",
            ),
        ]
        contributions = []
        for client, body, value in work:
            contribution = parsed(
                create_contribution.sync_detailed(self.project, client=client, body=body), 201, Contribution
            )
            equal(contribution.status, ContributionStatusDto.PENDING, "a new contribution")
            check(contribution.valuation is not None, "valued at once")
            equal(contribution.valuation.value, value, f"{body.kind.value} valuation")
            reviewed = parsed(
                create_review.sync_detailed(
                    self.project,
                    contribution.id,
                    client=self.treasurer,
                    body=CreateReviewRequest(decision=ReviewDecision.APPROVE),
                ),
                201,
                Contribution,
            )
            equal(reviewed.status, ContributionStatusDto.APPROVED, "approved")
            # The grant's match: the work counts toward this grant, and only it.
            allocation = parsed(
                create_in_kind_allocation.sync_detailed(
                    self.project,
                    grant.id,
                    client=self.treasurer,
                    body=CreateInKindAllocationRequest(contribution=contribution.id),
                ),
                201,
                InKindAllocation,
            )
            equal(allocation.grant, grant.id, "the work counts toward the grant's match")
            contributions.append(contribution)

        # ------------------------------------------------------------------
        step("5. 1,200.00 EUR of sensor parts from the restricted grant")
        expense = parsed(
            create_expense.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateExpenseRequest(
                    grant=grant.id,
                    amount="1200.00",
                    currency="EUR",
                    category="parts",
                    supplier="Capteurs & Cie",
                    date=datetime.date(2026, 3, 15),
                    description="sensor parts",
                ),
            ),
            201,
            Expense,
        )
        equal(expense.amount, "1200.00", "expense amount")
        figures = parsed(get_grant.sync_detailed(self.project, grant.id, client=self.funder), 200, Grant)
        equal(
            (figures.received, figures.spent, figures.remaining),
            ("10000.00", "1200.00", "8800.00"),
            "grant figures after the expense (received, spent, remaining)",
        )

        # ------------------------------------------------------------------
        step("6. distribution: rule set v1, dry run, four eyes, execution")
        parsed(
            create_account.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateAccountRequest(name="reserve", currency="EUR", non_negative=True),
            ),
            201,
            Account,
        )
        rule_set = parsed(
            create_rule_set.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateRuleSetRequest(
                    steps=[
                        StepDto(
                            share=ShareDtoType0(percent="10", of=BaseDto.TOTAL, type_=ShareDtoType0Type.PERCENTAGE),
                            to=RecipientsDtoType0(account="reserve", type_=RecipientsDtoType0Type.ACCOUNT),
                        ),
                        StepDto(
                            share=ShareDtoType0(
                                percent="100", of=BaseDto.REMAINING, type_=ShareDtoType0Type.PERCENTAGE
                            ),
                            to=RecipientsDtoType1(
                                type_=RecipientsDtoType1Type.PRO_RATA,
                                weights=KindWeights(time="1", equipment="1", data="1"),
                                cap=CapDtoType0(percent="40", type_=CapDtoType0Type.PERCENTAGE),
                            ),
                        ),
                    ],
                    residue=ResidueDtoType0(type_=ResidueDtoType0Type.POOL),
                ),
            ),
            201,
            RuleSetVersion,
        )
        equal(rule_set.version, 1, "rule set version")
        draft = parsed(
            create_distribution.sync_detailed(
                self.project,
                client=self.treasurer,
                body=CreateDistributionRequest(
                    rule_set_version=1,
                    grant=grant.id,
                    amount="4500.00",
                    period_from=datetime.date(2026, 3, 1),
                    period_to=datetime.date(2026, 3, 31),
                ),
            ),
            201,
            Distribution,
        )
        equal(draft.status, DistributionStatus.DRAFT, "a dry run")
        equal([(t.account, t.amount) for t in draft.transfers], [("reserve", "450.00")], "reserve transfer")
        lines = {line.agent: line for line in draft.lines}
        for contribution, amount in zip(contributions, ["1357.24", "521.18", "1620.00"]):
            check(contribution.agent in lines, f"a line for {contribution.agent}")
            equal(lines[contribution.agent].amount, amount, f"{contribution.kind.value} contributor's line")
            check(bool(lines[contribution.agent].explanation), "every line explained")
        equal(lines[contributions[2].agent].capped_by, "551.58", "the data line is capped (2171.58 - 1620.00)")
        equal(draft.residue, "551.58", "residue")
        placed = sum(Decimal(t.amount) for t in draft.transfers) + sum(Decimal(l.amount) for l in draft.lines)
        equal(placed + Decimal(draft.residue), Decimal("4500.00"), "every cent placed")
        equal(self.balances(self.treasurer)["pool:grant:FH-2026-017"], Decimal("8800.00"), "a draft posts nothing")
        problem(
            create_approval.sync_detailed(self.project, draft.id, client=self.treasurer), 403, "self_approval"
        )
        # Four eyes by default: the second treasurer's approval is the one that counts.
        approved = parsed(create_approval.sync_detailed(self.project, draft.id, client=self.second), 201, Distribution)
        equal(approved.status, DistributionStatus.APPROVED, "approved by another treasurer")
        # Dated on its period's last day (the default is the day of the
        # execution): the payouts of April 30 then pay money already owed.
        executed = parsed(
            create_execution.sync_detailed(
                self.project,
                draft.id,
                client=self.treasurer,
                body=ExecutionRequest(effective_date=datetime.date(2026, 3, 31)),
            ),
            201,
            Distribution,
        )
        equal(executed.status, DistributionStatus.EXECUTED, "executed")
        transaction = parsed(
            get_transaction.sync_detailed(self.project, executed.transaction, client=self.funder), 200, Transaction
        )
        equal(transaction.kind.value, "distribution", "one distribution transaction")
        equal(len(transaction.postings), 4, "reserve and three contributors, atomically")
        balances = self.balances(self.treasurer)
        equal(balances["reserve"], Decimal("450.00"), "reserve")
        for contribution, amount in zip(contributions, ["1357.24", "521.18", "1620.00"]):
            equal(balances[f"contributor:{contribution.agent}"], Decimal(amount), "contributor account")
        equal(balances["pool:grant:FH-2026-017"], Decimal("4851.58"), "the residue stays in the pool")
        figures = parsed(get_grant.sync_detailed(self.project, grant.id, client=self.funder), 200, Grant)
        equal(
            (figures.spent, figures.distributed, figures.remaining),
            ("1200.00", "3948.42", "4851.58"),
            "grant figures after the run",
        )
        again = parsed(get_distribution.sync_detailed(self.project, draft.id, client=self.funder), 200, Distribution)
        equal(again.status, DistributionStatus.EXECUTED, "the run read back")

        # ------------------------------------------------------------------
        step("7. value account and payouts")
        mine = parsed(get_my_value_account.sync_detailed(client=self.c_time), 200, MyValueAccount)
        equal(len(mine.projects), 1, "one project")
        equal(mine.projects[0].totals[0].approved, "312.50", "approved value")
        equal(mine.projects[0].money[0].distributions_earned, "1357.24", "earned")
        equal(mine.projects[0].money[0].balance_owed, "1357.24", "owed")
        for contribution, amount in zip(contributions, ["1357.24", "521.18", "1000.00"]):
            payout = parsed(
                create_payout.sync_detailed(
                    self.project,
                    client=self.treasurer,
                    body=CreatePayoutRequest(
                        agent=contribution.agent,
                        amount=amount,
                        currency="EUR",
                        method="bank-transfer",
                        reference=f"SEPA-{amount}",
                        date=datetime.date(2026, 4, 30),
                    ),
                ),
                201,
                Payout,
            )
            equal(payout.amount, amount, "payout")
        after = parsed(get_my_value_account.sync_detailed(client=self.c_time), 200, MyValueAccount)
        equal(after.projects[0].money[0].payouts_received, "1357.24", "paid")
        equal(after.projects[0].money[0].balance_owed, "0.00", "nothing owed")
        data_account = parsed(
            get_member_value_account.sync_detailed(self.project, contributions[2].agent, client=self.funder),
            200,
            ValueAccount,
        )
        equal(data_account.money[0].balance_owed, "620.00", "the data contributor is still owed 1620.00 - 1000.00")

        # ------------------------------------------------------------------
        step("8. the funder's reports and hledger")
        balances = self.balances(self.funder)
        grant_csv = export_grant_csv.sync_detailed(self.project, grant.id, client=self.funder)
        check(int(grant_csv.status_code) == 200, f"grant report: {int(grant_csv.status_code)}")
        check(isinstance(grant_csv.parsed, str), "the grant report is text")
        check(
            grant_csv.headers.get("content-type", "").startswith("text/csv"),
            f"grant report content type {grant_csv.headers.get('content-type')}",
        )
        rows = list(csv.DictReader(io.StringIO(grant_csv.parsed)))

        def one(section: str, column: str = "cash") -> Decimal:
            found = [r for r in rows if r["section"] == section]
            equal(len(found), 1, f"one {section} row")
            return Decimal(found[0][column] or "0")

        def total(section: str, column: str = "cash") -> Decimal:
            return sum((Decimal(r[column] or "0") for r in rows if r["section"] == section), Decimal(0))

        equal(one("total_received"), Decimal("10000.00"), "grant report: received")
        equal(one("total_spent"), Decimal("1200.00"), "grant report: spent")
        equal(total("spent_by_category"), Decimal("1200.00"), "grant report: spent by category")
        equal(one("total_distributed"), Decimal("3948.42"), "grant report: distributed")
        equal(one("remaining"), Decimal("4851.58"), "grant report: remaining")
        equal(one("remaining"), balances["pool:grant:FH-2026-017"], "grant report remaining = pool balance")
        equal(total("in_kind", "in_kind"), Decimal("932.50"), "grant report: in kind")

        journal_csv = export_journal_csv.sync_detailed(self.project, client=self.funder)
        check(int(journal_csv.status_code) == 200, f"journal.csv: {int(journal_csv.status_code)}")
        check(isinstance(journal_csv.parsed, str), "the journal is text")
        journal = list(csv.DictReader(io.StringIO(journal_csv.parsed)))
        debit = sum((Decimal(r["debit"] or "0") for r in journal), Decimal(0))
        credit = sum((Decimal(r["credit"] or "0") for r in journal), Decimal(0))
        equal(debit, credit, "journal: debits equal credits")
        re_added: dict[str, Decimal] = {}
        for r in journal:
            re_added[r["account"]] = re_added.get(r["account"], Decimal(0)) + Decimal(r["debit"] or "0") - Decimal(
                r["credit"] or "0"
            )
        equal(re_added, {k: v for k, v in balances.items() if k in re_added}, "journal re-added = API balances")
        check(
            {k for k, v in balances.items() if v != 0} <= set(re_added),
            "every account with a balance is in the journal",
        )

        hledger_file = export_journal_hledger.sync_detailed(self.project, client=self.funder)
        check(int(hledger_file.status_code) == 200, f"journal.hledger: {int(hledger_file.status_code)}")
        check(isinstance(hledger_file.parsed, str), "the hledger journal is text")
        for name, text in [
            ("grant.csv", grant_csv.parsed),
            ("journal.csv", journal_csv.parsed),
            ("journal.hledger", hledger_file.parsed),
        ]:
            with open(f"{workdir}/{name}", "w", encoding="utf-8") as f:
                f.write(text)
        if shutil.which("hledger"):
            path = f"{workdir}/journal.hledger"
            ran = subprocess.run(["hledger", "-f", path, "check"], capture_output=True, text=True)
            check(ran.returncode == 0, f"hledger check: {ran.stderr}")
            ran = subprocess.run(
                ["hledger", "-f", path, "balance", "--flat", "--no-total", "-O", "csv"],
                capture_output=True,
                text=True,
            )
            check(ran.returncode == 0, f"hledger balance: {ran.stderr}")
            from_hledger: dict[str, Decimal] = {}
            for record in list(csv.reader(io.StringIO(ran.stdout)))[1:]:
                number, unit = record[1].split(" ")
                equal(unit, "EUR", f"{record[0]} unit")
                from_hledger[record[0]] = Decimal(number)
            equal(from_hledger, {k: v for k, v in balances.items() if v != 0}, "hledger balance = API balances")
            print("    hledger check passed; hledger balance equals the API's balances")
        else:
            print("    hledger not installed: the hledger part is skipped")

        # ------------------------------------------------------------------
        step("9. the audit trail: every change above, with its actor")
        events = []
        cursor: str | None = None
        while True:
            kwargs = {"cursor": cursor} if cursor else {}
            page = parsed(list_events.sync_detailed(self.project, client=self.funder, limit=1000, **kwargs), 200, EventPage)
            events.extend(page.items)
            cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
            if not cursor:
                break
        admin_id = str(parsed(get_me.sync_detailed(client=self.admin), 200, Me).agent.id)
        actor = lambda email: self.agent_of.get(email, admin_id)  # noqa: E731
        made = sorted((path, actor(email)) for _, path, email in self.writes)
        recorded = sorted((e.subject, str(e.actor)) for e in events)
        equal(recorded, made, "one event per change, with its path and its actor")
        equal([e.sequence for e in events], list(range(1, len(events) + 1)), "events numbered from 1")
        for before, after in zip(events, events[1:]):
            equal(after.previous_hash, before.hash_, f"event {after.sequence} follows {before.sequence}")
        posted = [t for e in events for t in e.transactions]
        equal(len(posted), len(set(posted)), "each transaction in one event")
        executed_by = [str(e.actor) for e in events if str(executed.transaction) in e.transactions]
        equal(executed_by, [str(get_transaction.sync_detailed(self.project, executed.transaction, client=self.funder).parsed.recorded_by)], "the run's transaction records who executed it")
        verification = parsed(get_ledger_verification.sync_detailed(self.project, client=self.funder), 200, Verification)
        equal(verification.ok, True, "the ledger and the audit trail verify")
        equal(verification.events_checked, len(events), "every event verified")
        print(f"    {len(events)} events, one per change, each with its actor; the chain verifies")

        return {
            "project_id": str(self.project),
            "grant_id": str(grant.id),
            "donation_id": str(donation.id),
            "distribution_id": str(draft.id),
            "transaction_id": str(executed.transaction),
            "contribution_id": str(contributions[0].id),
            "agent_id": str(contributions[0].agent),
            "funder_id": str(funder.id),
            "account_name": "pool:grant:FH-2026-017",
            "rule_set_version": 1,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password-file", required=True)
    parser.add_argument("--out", required=True, help="JSON file for the ids the story created")
    args = parser.parse_args()
    with open(args.admin_password_file, encoding="utf-8") as f:
        password = f.readline().rstrip("\n")
    with tempfile.TemporaryDirectory() as workdir:
        try:
            ids = Story(args.base_url, args.admin_email, password).play(workdir)
        except StoryFailure as failure:
            print(f"FAILED {failure}", file=sys.stderr)
            return 1
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(ids, f, indent=2)
    print("story: PRODUCT.md steps 1-8 and the audit trail passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
