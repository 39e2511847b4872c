/**
 * PRODUCT.md, steps 1 to 8, and the audit trail, played against a running
 * commons-ledger through the TypeScript client generated from
 * openapi/openapi.json (openapi-typescript types, openapi-fetch calls).
 *
 * The same people, flows and figures as conformance/story.py. Compiled with
 * `tsc --strict` (conformance/ts/tsconfig.json), and free of `as` casts,
 * non-null assertions, `any` and type predicates (conformance/ts/check-no-casts.mjs):
 * every value from the API is narrowed by a check that throws. Called by
 * conformance/run.sh:
 *
 *     node conformance/ts/build/story.js --base-url http://127.0.0.1:PORT \
 *         --admin-email admin@example.org --admin-password-file FILE
 */

import createClient, { type Client } from "openapi-fetch";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";

import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];
type Api = Client<paths>;
type Problem = Schemas["Problem"];

class StoryFailure extends Error {}

let STEP = "setup";
let CHECKS = 0;

function step(name: string): void {
    STEP = name;
    console.log(`--- ${name}`);
}

/** A condition the story needs to go on (parsing, indexing): fails the story, not counted. */
function need(condition: boolean, message: string): asserts condition {
    if (!condition) {
        throw new StoryFailure(`[${STEP}] ${message}`);
    }
}

/** A check of what the service answered: counted, and it fails the story. */
function check(condition: boolean, message: string): asserts condition {
    CHECKS += 1;
    need(condition, message);
}

function show(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

function equal(actual: unknown, expected: unknown, what: string): void {
    check(isDeepStrictEqual(actual, expected), `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/**
 * A value the service always sends. The spec may type it optional (`T | undefined`),
 * nullable (`T | null`) or both: this compiles, and checks, whichever it is.
 */
function present<T>(value: T | null | undefined, what: string): T {
    check(value !== null && value !== undefined, `${what} is missing`);
    return value;
}

function at<T>(list: readonly T[], index: number, what: string): T {
    const item = list[index];
    need(item !== undefined, `${what} [${index}] is missing`);
    return item;
}

// --- calls -------------------------------------------------------------------------------------

/** What every openapi-fetch call resolves to: the typed body of a success, or of an error. */
interface Answer<D, E> {
    data?: D;
    error?: E;
    response: Response;
}

/** The typed body of a success, after checking its status. */
async function parsed<D, E>(call: Promise<Answer<D, E>>, status: number, what: string): Promise<D> {
    const { data, error, response } = await call;
    check(
        response.status === status,
        `${what}: expected ${status}, got ${response.status}: ${show(error ?? data).slice(0, 2000)}`,
    );
    return present(data, `${what}: the body`);
}

/** The problem of a refusal, after checking its status and stable code. */
async function problem<D, E extends Problem>(
    call: Promise<Answer<D, E>>,
    status: number,
    code: string,
    what: string,
): Promise<Problem> {
    const { data, error, response } = await call;
    check(response.status === status, `${what}: expected ${status}, got ${response.status}: ${show(error ?? data)}`);
    const found = present(error, `${what}: the problem`);
    equal(found.code, code, `${what}: problem code`);
    equal(found.status, status, `${what}: problem status`);
    return found;
}

// --- exact decimals ----------------------------------------------------------------------------

/** A decimal string as an integer number of millionths: exact, as the API's figures are. */
function dec(text: string): bigint {
    const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
    need(match !== null, `not a decimal: ${JSON.stringify(text)}`);
    const sign = match[1] === "-" ? -1n : 1n;
    const whole = BigInt(match[2] ?? "0");
    const fraction = BigInt((match[3] ?? "").padEnd(6, "0"));
    return sign * (whole * 1_000_000n + fraction);
}

function decOrZero(text: string): bigint {
    return text === "" ? 0n : dec(text);
}

// --- CSV (RFC 4180) ----------------------------------------------------------------------------

function csvRows(text: string): string[][] {
    const rows: string[][] = [];
    let row: string[] = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < text.length; i += 1) {
        const c = text.charAt(i);
        if (quoted) {
            if (c === '"') {
                if (text.charAt(i + 1) === '"') {
                    cell += '"';
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                cell += c;
            }
        } else if (c === '"') {
            quoted = true;
        } else if (c === ",") {
            row.push(cell);
            cell = "";
        } else if (c === "\n" || c === "\r") {
            if (c === "\r" && text.charAt(i + 1) === "\n") {
                i += 1;
            }
            row.push(cell);
            rows.push(row);
            row = [];
            cell = "";
        } else {
            cell += c;
        }
    }
    need(!quoted, "CSV: an unterminated quoted cell");
    if (cell !== "" || row.length > 0) {
        row.push(cell);
        rows.push(row);
    }
    return rows;
}

/** The records of a CSV with a header row, each a map from column to cell. */
function csvRecords(text: string, what: string): Map<string, string>[] {
    const [header, ...body] = csvRows(text);
    need(header !== undefined, `${what}: no header row`);
    const columns = header;
    return body.map((cells, n) => {
        need(cells.length === columns.length, `${what}: ${cells.length} cells in row ${n + 2}, not ${columns.length}`);
        return new Map(columns.map((column, i) => [column, at(cells, i, `${what} row ${n + 2}`)]));
    });
}

function cell(record: Map<string, string>, column: string, what: string): string {
    const value = record.get(column);
    need(value !== undefined, `${what}: no column ${column}`);
    return value;
}

// --- the story ---------------------------------------------------------------------------------

const POOL = "pool:grant:FH-2026-017";

/**
 * The story's people sign in with the Python story's addresses, tagged `+ts`: both stories
 * play on the same server, and an email names one agent.
 */
function email(address: string): string {
    const [local, domain] = address.split("@");
    need(local !== undefined && domain !== undefined, `not an address: ${address}`);
    return `${local}+ts@${domain}`;
}

class Story {
    readonly anonymous: Api;
    /**
     * Every change the story makes: method, path and who, as sent and answered with a 2xx
     * that was not a replay. The audit trail must hold each one, with its actor (step 9).
     */
    readonly writes: { method: string; path: string; email: string }[] = [];
    readonly agentOf = new Map<string, string>();
    project = "";

    constructor(readonly baseUrl: string) {
        this.anonymous = createClient<paths>({ baseUrl });
    }

    async login(email: string, password: string): Promise<Api> {
        const token = await parsed(
            this.anonymous.POST("/v1/auth/token", { body: { email, password } }),
            200,
            `${email} signs in`,
        );
        equal(token.token_type, "Bearer", "token_type");
        check(token.expires_in > 0, "expires_in");
        const client = createClient<paths>({
            baseUrl: this.baseUrl,
            headers: { Authorization: `Bearer ${token.access_token}` },
        });
        client.use({
            onResponse: ({ request, response }) => {
                const path = new URL(request.url).pathname;
                if (
                    ["POST", "PATCH", "DELETE"].includes(request.method) &&
                    response.status >= 200 &&
                    response.status < 300 &&
                    !response.headers.has("idempotency-replayed") &&
                    !path.startsWith("/v1/agents") &&
                    !path.startsWith("/v1/auth")
                ) {
                    this.writes.push({ method: request.method, path, email });
                }
            },
        });
        return client;
    }

    async person(
        admin: Api,
        name: string,
        email: string,
        kind: Schemas["AgentKindDto"] = "person",
    ): Promise<{ agent: Schemas["Agent"]; client: Api }> {
        const password = `${email} has a long passphrase`;
        const agent = await parsed(
            admin.POST("/v1/agents", { body: { kind, name, email, password } }),
            201,
            `create ${name}`,
        );
        equal(agent.has_credentials, true, `${name} has credentials`);
        this.agentOf.set(email, agent.id);
        return { agent, client: await this.login(email, password) };
    }

    async balances(client: Api): Promise<Map<string, bigint>> {
        const out = new Map<string, bigint>();
        let cursor: string | undefined;
        for (;;) {
            const page = await parsed(
                client.GET("/v1/projects/{project_id}/balances", {
                    params: {
                        path: { project_id: this.project },
                        query: cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor },
                    },
                }),
                200,
                "balances",
            );
            for (const item of page.items) {
                out.set(item.account, dec(item.balance));
            }
            const next = page.next_cursor;
            if (next === null || next === undefined || next === "") {
                return out;
            }
            cursor = next;
        }
    }

    async play(adminEmail: string, adminPassword: string, workdir: string): Promise<void> {
        const admin = await this.login(adminEmail, adminPassword);

        // ------------------------------------------------------------------
        step("1. project, members and roles");
        const owner = await this.person(admin, "Odile Owner", email("owner@openair-lyon.org"));
        const t1 = await this.person(admin, "Camille Martin", email("camille@openair-lyon.org"));
        const t2 = await this.person(admin, "Bastien Second", email("bastien@openair-lyon.org"));
        const cTime = await this.person(admin, "Tina Time", email("tina@openair-lyon.org"));
        const cEquipment = await this.person(admin, "Eddy Equipment", email("eddy@openair-lyon.org"));
        const cData = await this.person(admin, "Dana Data", email("dana@openair-lyon.org"));
        const funder = await this.person(admin, "Fondation Horizon", email("grants@fondation-horizon.org"), "organisation");
        const treasurer = t1.client;
        const project = await parsed(
            owner.client.POST("/v1/projects", {
                body: { name: "OpenAir Lyon", currency: "EUR", licence_policy: "open" },
            }),
            201,
            "create the project",
        );
        this.project = project.id;
        const inProject = { path: { project_id: project.id } };
        equal(project.currency, "EUR", "project currency");
        // Nobody is a member without consenting: the owner invites, each person accepts;
        // only an administrator adds a member directly.
        await problem(
            owner.client.POST("/v1/projects/{project_id}/members", {
                params: inProject,
                body: { agent: t1.agent.id, role: "treasurer" },
            }),
            403,
            "admin_only",
            "the owner adds a member directly",
        );
        const invited: [typeof t1, Schemas["RoleDto"]][] = [
            [t1, "treasurer"],
            [t2, "treasurer"],
            [cTime, "contributor"],
            [cEquipment, "contributor"],
            [cData, "contributor"],
            [funder, "auditor"],
        ];
        for (const [person, role] of invited) {
            const invitation = await parsed(
                owner.client.POST("/v1/projects/{project_id}/invitations", {
                    params: inProject,
                    body: { agent: person.agent.id, role },
                }),
                201,
                `invite ${person.agent.name}`,
            );
            const mine = await parsed(person.client.GET("/v1/me/invitations"), 200, "my invitations");
            equal(
                mine.items.map((i) => [i.id, i.project_name, i.role]),
                [[invitation.id, "OpenAir Lyon", role]],
                `${person.agent.name}'s invitations`,
            );
            const member = await parsed(
                person.client.POST("/v1/me/invitations/{invitation_id}/acceptance", {
                    params: { path: { invitation_id: invitation.id } },
                }),
                201,
                `${person.agent.name} accepts`,
            );
            equal(member.role, role, `${person.agent.name}'s role`);
        }
        const me = await parsed(funder.client.GET("/v1/me"), 200, "the funder's /v1/me");
        equal(
            me.memberships.map((m) => [m.project_id, m.role]),
            [[project.id, "auditor"]],
            "funder's memberships",
        );

        // ------------------------------------------------------------------
        step("2. a grant and a donation");
        for (const [name, funderCategory] of [
            ["parts", "C.3 other goods, works and services"],
            ["in-kind-time", "A personnel costs"],
            ["in-kind-equipment", "C.2 equipment"],
            ["in-kind-data", "C.3 other goods, works and services"],
        ] satisfies [string, string][]) {
            await parsed(
                treasurer.POST("/v1/projects/{project_id}/expense-categories", {
                    params: inProject,
                    body: { name, funder_category: funderCategory },
                }),
                201,
                `expense category ${name}`,
            );
        }
        const grant = await parsed(
            treasurer.POST("/v1/projects/{project_id}/grants", {
                params: inProject,
                body: {
                    funder: funder.agent.id,
                    kind: "grant",
                    reference: "FH-2026-017",
                    amount: "10000.00",
                    currency: "EUR",
                    received_on: "2026-02-01",
                    period_start: "2026-01-01",
                    period_end: "2026-12-31",
                    restriction: "air-quality sensor programme",
                    eligible_categories: ["parts"],
                    distributable: true,
                },
            }),
            201,
            "the grant",
        );
        equal([grant.received, grant.spent, grant.remaining], ["10000.00", "0.00", "10000.00"], "grant figures");
        const donor = await parsed(
            admin.POST("/v1/agents", { body: { kind: "person", name: "A neighbour" } }),
            201,
            "the donor",
        );
        const donation = await parsed(
            treasurer.POST("/v1/projects/{project_id}/grants", {
                params: inProject,
                body: {
                    funder: donor.id,
                    kind: "donation",
                    reference: "DON-001",
                    amount: "250.00",
                    currency: "EUR",
                    received_on: "2026-02-10",
                },
            }),
            201,
            "the donation",
        );
        equal(donation.received, "250.00", "donation received");

        // ------------------------------------------------------------------
        step("3-4. rates, contributions, the open-licence policy, valuations, reviews");
        const rates: [Schemas["ContributionKindDto"], Schemas["QuantityUnitDto"], string, string][] = [
            ["time", "hour", "25.00", "replacement cost"],
            ["equipment", "hour", "3.00", "rental equivalent"],
            ["data", "dataset", "500.00", "market price"],
        ];
        for (const [kind, per, rate, method] of rates) {
            await parsed(
                treasurer.POST("/v1/projects/{project_id}/rates", {
                    params: inProject,
                    body: {
                        kind,
                        effective_from: "2026-01-01",
                        rate,
                        currency: "EUR",
                        per,
                        method,
                        source: "OpenAir Lyon rates 2026",
                    },
                }),
                201,
                `${kind} rate`,
            );
        }
        const refused = await problem(
            cData.client.POST("/v1/projects/{project_id}/contributions", {
                params: inProject,
                body: {
                    kind: "data",
                    date: "2026-03-10",
                    quantity: "1",
                    unit: "dataset",
                    dataset: { title: "Lyon air quality, non-commercial", licence: "CC-BY-NC-4.0" },
                },
            }),
            422,
            "licence_not_open",
            "a non-commercial dataset",
        );
        const fieldErrors = present(refused.errors, "the field errors");
        equal(fieldErrors.length, 1, "one field error");
        const reason = at(fieldErrors, 0, "field errors");
        equal([reason.field, reason.code], ["dataset.licence", "licence_not_open"], "the refused field");
        check(
            reason.message.includes("NC") || reason.message.toLowerCase().includes("non"),
            `the message says why: ${reason.message}`,
        );
        console.log(`    CC-BY-NC-4.0 refused: ${refused.detail} / ${reason.field}: ${reason.message}`);
        const work: [Api, Schemas["CreateContributionRequest"], string][] = [
            [
                cTime.client,
                {
                    kind: "time",
                    date: "2026-03-02",
                    quantity: "12.5",
                    unit: "hour",
                    description: "sensor calibration",
                    skill: "calibration",
                },
                "312.50",
            ],
            [
                cEquipment.client,
                {
                    kind: "equipment",
                    date: "2026-03-05",
                    quantity: "40",
                    unit: "hour",
                    equipment: "3d-printer-1",
                    description: "sensor housings",
                },
                "120.00",
            ],
            [
                cData.client,
                {
                    kind: "data",
                    date: "2026-03-10",
                    quantity: "1",
                    unit: "dataset",
                    dataset: {
                        title: "Lyon air quality, 1.2 million readings",
                        uri: "doi:10.5281/zenodo.123",
                        checksum: "sha256:abc",
                        licence: "CC-BY-4.0",
                    },
                },
                "500.00",
            ],
        ];
        const contributions: Schemas["Contribution"][] = [];
        for (const [client, body, value] of work) {
            const contribution = await parsed(
                client.POST("/v1/projects/{project_id}/contributions", { params: inProject, body }),
                201,
                `${body.kind} contribution`,
            );
            equal(contribution.status, "pending", "a new contribution");
            const valuation = present(contribution.valuation, "valued at once: the valuation");
            equal(valuation.value, value, `${body.kind} valuation`);
            const reviewed = await parsed(
                treasurer.POST("/v1/projects/{project_id}/contributions/{contribution_id}/reviews", {
                    params: { path: { project_id: project.id, contribution_id: contribution.id } },
                    body: { decision: "approve" },
                }),
                201,
                "the review",
            );
            equal(reviewed.status, "approved", "approved");
            // The grant's match: the work counts toward this grant, and only it.
            const allocation = await parsed(
                treasurer.POST("/v1/projects/{project_id}/grants/{grant_id}/in-kind", {
                    params: { path: { project_id: project.id, grant_id: grant.id } },
                    body: { contribution: contribution.id },
                }),
                201,
                "the in-kind allocation",
            );
            equal(allocation.grant, grant.id, "the work counts toward the grant's match");
            contributions.push(contribution);
        }
        const earned: [Schemas["Contribution"], string][] = contributions.map((c, i) => [
            c,
            at(["1357.24", "521.18", "1620.00"], i, "earned"),
        ]);

        // ------------------------------------------------------------------
        step("5. 1,200.00 EUR of sensor parts from the restricted grant");
        const expense = await parsed(
            treasurer.POST("/v1/projects/{project_id}/expenses", {
                params: inProject,
                body: {
                    grant: grant.id,
                    amount: "1200.00",
                    currency: "EUR",
                    category: "parts",
                    supplier: "Capteurs & Cie",
                    date: "2026-03-15",
                    description: "sensor parts",
                },
            }),
            201,
            "the expense",
        );
        equal(expense.amount, "1200.00", "expense amount");
        const theGrant = { path: { project_id: project.id, grant_id: grant.id } };
        let figures = await parsed(
            funder.client.GET("/v1/projects/{project_id}/grants/{grant_id}", { params: theGrant }),
            200,
            "the grant, read by the funder",
        );
        equal(
            [figures.received, figures.spent, figures.remaining],
            ["10000.00", "1200.00", "8800.00"],
            "grant figures after the expense (received, spent, remaining)",
        );

        // ------------------------------------------------------------------
        step("6. distribution: rule set v1, dry run, four eyes, execution");
        await parsed(
            treasurer.POST("/v1/projects/{project_id}/accounts", {
                params: inProject,
                body: { name: "reserve", currency: "EUR", non_negative: true },
            }),
            201,
            "the reserve account",
        );
        const ruleSet = await parsed(
            treasurer.POST("/v1/projects/{project_id}/rule-sets", {
                params: inProject,
                body: {
                    steps: [
                        {
                            share: { type: "percentage", percent: "10", of: "total" },
                            to: { type: "account", account: "reserve" },
                        },
                        {
                            share: { type: "percentage", percent: "100", of: "remaining" },
                            to: {
                                type: "pro_rata",
                                weights: { time: "1", equipment: "1", data: "1" },
                                cap: { type: "percentage", percent: "40" },
                            },
                        },
                    ],
                    residue: { type: "pool" },
                },
            }),
            201,
            "rule set v1",
        );
        equal(ruleSet.version, 1, "rule set version");
        const draft = await parsed(
            treasurer.POST("/v1/projects/{project_id}/distributions", {
                params: inProject,
                body: {
                    rule_set_version: 1,
                    grant: grant.id,
                    amount: "4500.00",
                    period_from: "2026-03-01",
                    period_to: "2026-03-31",
                },
            }),
            201,
            "the dry run",
        );
        equal(draft.status, "draft", "a dry run");
        equal(
            draft.transfers.map((t) => [t.account, t.amount]),
            [["reserve", "450.00"]],
            "reserve transfer",
        );
        const lines = new Map(draft.lines.map((line) => [line.agent, line]));
        for (const [contribution, amount] of earned) {
            const line = present(lines.get(contribution.agent), `a line for ${contribution.agent}`);
            equal(line.amount, amount, `${contribution.kind} contributor's line`);
            check(line.explanation !== "", "every line explained");
        }
        const dataLine = present(lines.get(at(contributions, 2, "contributions").agent), "the data line");
        equal(dataLine.capped_by, "551.58", "the data line is capped (2171.58 - 1620.00)");
        equal(draft.residue, "551.58", "residue");
        const placed =
            draft.transfers.reduce((sum, t) => sum + dec(t.amount), 0n) +
            draft.lines.reduce((sum, l) => sum + dec(l.amount), 0n);
        equal(placed + dec(draft.residue), dec("4500.00"), "every cent placed");
        equal((await this.balances(treasurer)).get(POOL), dec("8800.00"), "a draft posts nothing");
        const theRun = { path: { project_id: project.id, distribution_id: draft.id } };
        await problem(
            treasurer.POST("/v1/projects/{project_id}/distributions/{distribution_id}/approvals", { params: theRun }),
            403,
            "self_approval",
            "its author approves the run",
        );
        // Four eyes by default: the second treasurer's approval is the one that counts.
        const approved = await parsed(
            t2.client.POST("/v1/projects/{project_id}/distributions/{distribution_id}/approvals", { params: theRun }),
            201,
            "the second treasurer approves",
        );
        equal(approved.status, "approved", "approved by another treasurer");
        // Dated on its period's last day (the default is the day of the execution): the
        // payouts of April 30 then pay money already owed.
        const executed = await parsed(
            treasurer.POST("/v1/projects/{project_id}/distributions/{distribution_id}/execution", {
                params: theRun,
                body: { effective_date: "2026-03-31" },
            }),
            201,
            "the execution",
        );
        equal(executed.status, "executed", "executed");
        const executedTransaction = present(executed.transaction, "the executed run's transaction");
        const transaction = await parsed(
            funder.client.GET("/v1/projects/{project_id}/transactions/{transaction_id}", {
                params: { path: { project_id: project.id, transaction_id: executedTransaction } },
            }),
            200,
            "the run's transaction",
        );
        equal(transaction.kind, "distribution", "one distribution transaction");
        equal(transaction.postings.length, 4, "reserve and three contributors, atomically");
        // `metadata` is a JSON object; while the spec says only `{"type": "object"}`,
        // openapi-typescript types it `Record<string, never>`. Widened (not cast) to unknown
        // values, it is read and checked at run time; this compiles with an exact type too.
        const metadata: Readonly<Record<string, unknown>> = transaction.metadata;
        equal(
            [metadata["distribution"], metadata["rule_set_version"]],
            [draft.id, 1],
            "the transaction names its run and rule set",
        );
        let balances = await this.balances(treasurer);
        equal(balances.get("reserve"), dec("450.00"), "reserve");
        for (const [contribution, amount] of earned) {
            equal(balances.get(`contributor:${contribution.agent}`), dec(amount), "contributor account");
        }
        equal(balances.get(POOL), dec("4851.58"), "the residue stays in the pool");
        figures = await parsed(
            funder.client.GET("/v1/projects/{project_id}/grants/{grant_id}", { params: theGrant }),
            200,
            "the grant after the run",
        );
        equal(
            [figures.spent, figures.distributed, figures.remaining],
            ["1200.00", "3948.42", "4851.58"],
            "grant figures after the run",
        );
        const again = await parsed(
            funder.client.GET("/v1/projects/{project_id}/distributions/{distribution_id}", { params: theRun }),
            200,
            "the run read back",
        );
        equal(again.status, "executed", "the run read back");

        // ------------------------------------------------------------------
        step("7. value account and payouts");
        const mine = await parsed(cTime.client.GET("/v1/me/value-account"), 200, "my value account");
        equal(mine.projects.length, 1, "one project");
        const mineHere = at(mine.projects, 0, "projects");
        equal(at(mineHere.totals, 0, "totals").approved, "312.50", "approved value");
        equal(at(mineHere.money, 0, "money").distributions_earned, "1357.24", "earned");
        equal(at(mineHere.money, 0, "money").balance_owed, "1357.24", "owed");
        for (const [i, contribution] of contributions.entries()) {
            const amount = at(["1357.24", "521.18", "1000.00"], i, "payouts");
            const payout = await parsed(
                treasurer.POST("/v1/projects/{project_id}/payouts", {
                    params: inProject,
                    body: {
                        agent: contribution.agent,
                        amount,
                        currency: "EUR",
                        method: "bank-transfer",
                        reference: `SEPA-${amount}`,
                        date: "2026-04-30",
                    },
                }),
                201,
                `payout of ${amount}`,
            );
            equal(payout.amount, amount, "payout");
        }
        const after = await parsed(cTime.client.GET("/v1/me/value-account"), 200, "my value account, paid");
        const owedAfter = at(at(after.projects, 0, "projects").money, 0, "money");
        equal(owedAfter.payouts_received, "1357.24", "paid");
        equal(owedAfter.balance_owed, "0.00", "nothing owed");
        const dataAccount = await parsed(
            funder.client.GET("/v1/projects/{project_id}/members/{agent_id}/value-account", {
                params: { path: { project_id: project.id, agent_id: at(contributions, 2, "contributions").agent } },
            }),
            200,
            "the data contributor's value account",
        );
        equal(
            at(dataAccount.money, 0, "money").balance_owed,
            "620.00",
            "the data contributor is still owed 1620.00 - 1000.00",
        );

        // ------------------------------------------------------------------
        step("8. the funder's reports and hledger");
        balances = await this.balances(funder.client);
        const grantCsv = await funder.client.GET("/v1/projects/{project_id}/reports/grants/{grant_id}.csv", {
            params: theGrant,
            parseAs: "text",
        });
        check(grantCsv.response.status === 200, `grant report: ${grantCsv.response.status}`);
        const grantText = present(grantCsv.data, "the grant report's text");
        const grantType = grantCsv.response.headers.get("content-type") ?? "";
        check(grantType.startsWith("text/csv"), `grant report content type ${grantType}`);
        const rows = csvRecords(grantText, "grant.csv");
        const one = (section: string, column = "cash"): bigint => {
            const found = rows.filter((r) => cell(r, "section", "grant.csv") === section);
            equal(found.length, 1, `one ${section} row`);
            return decOrZero(cell(at(found, 0, section), column, "grant.csv"));
        };
        const total = (section: string, column = "cash"): bigint =>
            rows
                .filter((r) => cell(r, "section", "grant.csv") === section)
                .reduce((sum, r) => sum + decOrZero(cell(r, column, "grant.csv")), 0n);
        equal(one("total_received"), dec("10000.00"), "grant report: received");
        equal(one("total_spent"), dec("1200.00"), "grant report: spent");
        equal(total("spent_by_category"), dec("1200.00"), "grant report: spent by category");
        equal(one("total_distributed"), dec("3948.42"), "grant report: distributed");
        equal(one("remaining"), dec("4851.58"), "grant report: remaining");
        equal(one("remaining"), balances.get(POOL), "grant report remaining = pool balance");
        equal(total("in_kind", "in_kind"), dec("932.50"), "grant report: in kind");

        const journalCsv = await funder.client.GET("/v1/projects/{project_id}/reports/journal.csv", {
            params: inProject,
            parseAs: "text",
        });
        check(journalCsv.response.status === 200, `journal.csv: ${journalCsv.response.status}`);
        const journalText = present(journalCsv.data, "the journal's text");
        const journal = csvRecords(journalText, "journal.csv");
        const debit = journal.reduce((sum, r) => sum + decOrZero(cell(r, "debit", "journal.csv")), 0n);
        const credit = journal.reduce((sum, r) => sum + decOrZero(cell(r, "credit", "journal.csv")), 0n);
        equal(debit, credit, "journal: debits equal credits");
        const reAdded = new Map<string, bigint>();
        for (const r of journal) {
            const account = cell(r, "account", "journal.csv");
            reAdded.set(
                account,
                (reAdded.get(account) ?? 0n) +
                    decOrZero(cell(r, "debit", "journal.csv")) -
                    decOrZero(cell(r, "credit", "journal.csv")),
            );
        }
        equal(
            sorted(reAdded),
            sorted(new Map([...balances].filter(([account]) => reAdded.has(account)))),
            "journal re-added = API balances",
        );
        check(
            [...balances].every(([account, balance]) => balance === 0n || reAdded.has(account)),
            "every account with a balance is in the journal",
        );

        const hledgerFile = await funder.client.GET("/v1/projects/{project_id}/reports/journal.hledger", {
            params: inProject,
            parseAs: "text",
        });
        check(hledgerFile.response.status === 200, `journal.hledger: ${hledgerFile.response.status}`);
        const hledgerText = present(hledgerFile.data, "the hledger journal's text");
        writeFileSync(join(workdir, "grant.csv"), grantText);
        writeFileSync(join(workdir, "journal.csv"), journalText);
        const path = join(workdir, "journal.hledger");
        writeFileSync(path, hledgerText);
        if (spawnSync("hledger", ["--version"], { encoding: "utf8" }).status === 0) {
            const checked = spawnSync("hledger", ["-f", path, "check"], { encoding: "utf8" });
            check(checked.status === 0, `hledger check: ${checked.stderr}`);
            const balanced = spawnSync("hledger", ["-f", path, "balance", "--flat", "--no-total", "-O", "csv"], {
                encoding: "utf8",
            });
            check(balanced.status === 0, `hledger balance: ${balanced.stderr}`);
            const fromHledger = new Map<string, bigint>();
            for (const record of csvRows(balanced.stdout).slice(1)) {
                const account = at(record, 0, "hledger balance row");
                const [number, unit] = at(record, 1, "hledger balance row").split(" ");
                equal(unit, "EUR", `${account} unit`);
                fromHledger.set(account, dec(present(number, `${account} amount`)));
            }
            equal(
                sorted(fromHledger),
                sorted(new Map([...balances].filter(([, balance]) => balance !== 0n))),
                "hledger balance = API balances",
            );
            console.log("    hledger check passed; hledger balance equals the API's balances");
        } else {
            console.log("    hledger not installed: the hledger part is skipped");
        }

        // ------------------------------------------------------------------
        step("9. the audit trail: every change above, with its actor");
        const events: Schemas["Event"][] = [];
        let cursor: string | undefined;
        for (;;) {
            const page = await parsed(
                funder.client.GET("/v1/projects/{project_id}/events", {
                    params: {
                        path: { project_id: project.id },
                        query: cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor },
                    },
                }),
                200,
                "events",
            );
            events.push(...page.items);
            const next = page.next_cursor;
            if (next === null || next === undefined || next === "") {
                break;
            }
            cursor = next;
        }
        const adminId = (await parsed(admin.GET("/v1/me"), 200, "the administrator's /v1/me")).agent.id;
        const made = this.writes.map((w) => `${w.path} ${this.agentOf.get(w.email) ?? adminId}`).sort();
        const recorded = events.map((e) => `${e.subject} ${e.actor}`).sort();
        equal(recorded, made, "one event per change, with its path and its actor");
        equal(
            events.map((e) => e.sequence),
            events.map((_e, i) => i + 1),
            "events numbered from 1",
        );
        for (const [i, event] of events.entries()) {
            if (i > 0) {
                const before = at(events, i - 1, "events");
                equal(event.previous_hash, before.hash, `event ${event.sequence} follows ${before.sequence}`);
            }
        }
        const posted = events.flatMap((e) => e.transactions);
        equal(new Set(posted).size, posted.length, "each transaction in one event");
        const executedBy = events.filter((e) => e.transactions.includes(executedTransaction)).map((e) => e.actor);
        equal(
            executedBy,
            [present(transaction.recorded_by, "the run's transaction's recorder")],
            "the run's transaction records who executed it",
        );
        const verification = await parsed(
            funder.client.GET("/v1/projects/{project_id}/ledger/verification", { params: inProject }),
            200,
            "the verification",
        );
        equal(verification.ok, true, "the ledger and the audit trail verify");
        equal(verification.events_checked, events.length, "every event verified");
        console.log(`    ${events.length} events, one per change, each with its actor; the chain verifies`);
    }
}

function sorted(map: Map<string, bigint>): [string, bigint][] {
    return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            "base-url": { type: "string" },
            "admin-email": { type: "string" },
            "admin-password-file": { type: "string" },
        },
        strict: true,
    });
    const baseUrl = values["base-url"];
    const adminEmail = values["admin-email"];
    const passwordFile = values["admin-password-file"];
    if (baseUrl === undefined || adminEmail === undefined || passwordFile === undefined) {
        console.error("usage: story.js --base-url URL --admin-email EMAIL --admin-password-file FILE");
        return 2;
    }
    const password = readFileSync(passwordFile, "utf8").split("\n")[0] ?? "";
    const workdir = mkdtempSync(join(tmpdir(), "cl-story-ts-"));
    try {
        await new Story(baseUrl).play(adminEmail, password, workdir);
    } catch (failure) {
        if (failure instanceof StoryFailure) {
            console.error(`FAILED ${failure.message}`);
            console.error(`story (TypeScript): ${CHECKS} checks made before the failure`);
            return 1;
        }
        throw failure;
    } finally {
        rmSync(workdir, { recursive: true, force: true });
    }
    console.log(`story (TypeScript): PRODUCT.md steps 1-8 and the audit trail passed, ${CHECKS} checks`);
    return 0;
}

process.exitCode = await main();
