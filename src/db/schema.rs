//! Diesel table definitions, written to match both backends' migrations.

diesel::table! {
    units (code) {
        code -> Text,
        scale -> Integer,
        kind -> Text,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        name -> Text,
        currency -> Text,
        public -> Integer,
        created_at -> Timestamp,
        last_sequence -> BigInt,
        last_hash -> Text,
        licence_policy -> Text,
        allow_unvalued -> Integer,
        approvals_required -> Integer,
        distribution_approvals_required -> Integer,
        four_eyes_above -> Nullable<BigInt>,
        closed_through -> Nullable<Date>,
        contributor_names -> Text,
    }
}

diesel::table! {
    project_revisions (project_id) {
        project_id -> Text,
        revision -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        currency -> Text,
        non_negative -> Integer,
        balance -> BigInt,
        created_at -> Timestamp,
        distributions_earned -> BigInt,
        payouts_received -> BigInt,
    }
}

diesel::table! {
    transactions (id) {
        id -> Text,
        project_id -> Text,
        sequence -> BigInt,
        kind -> Text,
        effective_date -> Date,
        recorded_at -> Timestamp,
        description -> Text,
        metadata -> Text,
        reverses_id -> Nullable<Text>,
        previous_hash -> Text,
        hash -> Text,
        recorded_by -> Nullable<Text>,
    }
}

diesel::table! {
    postings (id) {
        id -> BigInt,
        transaction_id -> Text,
        project_id -> Text,
        position -> Integer,
        from_account_id -> Text,
        to_account_id -> Text,
        amount -> BigInt,
        currency -> Text,
        from_balance_after -> BigInt,
        to_balance_after -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        claim_token -> Text,
        locked_at -> Timestamp,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        response_location -> Nullable<Text>,
    }
}

diesel::table! {
    rates (id) {
        id -> Text,
        project_id -> Text,
        kind -> Text,
        skill -> Text,
        equipment -> Text,
        agent_id -> Text,
        per -> Text,
        effective_from -> Date,
        rate -> BigInt,
        currency -> Text,
        method -> Text,
        source -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contributions (id) {
        id -> Text,
        project_id -> Text,
        agent_id -> Text,
        kind -> Text,
        date -> Date,
        quantity -> BigInt,
        unit -> Text,
        description -> Text,
        skill -> Nullable<Text>,
        equipment -> Nullable<Text>,
        dataset_title -> Nullable<Text>,
        dataset_uri -> Nullable<Text>,
        dataset_size_bytes -> Nullable<BigInt>,
        dataset_checksum -> Nullable<Text>,
        licence -> Nullable<Text>,
        rate_id -> Nullable<Text>,
        value -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        supersedes_id -> Nullable<Text>,
        status -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reviews (contribution_id, reviewer_id) {
        contribution_id -> Text,
        reviewer_id -> Text,
        decision -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        project_id -> Text,
        funder_id -> Text,
        kind -> Text,
        reference -> Text,
        amount -> BigInt,
        currency -> Text,
        received_on -> Date,
        period_start -> Nullable<Date>,
        period_end -> Nullable<Date>,
        restriction -> Nullable<Text>,
        eligible_categories -> Text,
        pool_account -> Text,
        transaction_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        distributable -> Integer,
    }
}

diesel::table! {
    releases (id) {
        id -> Text,
        project_id -> Text,
        grant_id -> Text,
        amount -> BigInt,
        currency -> Text,
        date -> Date,
        reason -> Text,
        transaction_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    expense_categories (project_id, name) {
        project_id -> Text,
        name -> Text,
        funder_category -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    expenses (id) {
        id -> Text,
        project_id -> Text,
        grant_id -> Nullable<Text>,
        pool_account -> Text,
        category -> Text,
        supplier -> Text,
        date -> Date,
        description -> Text,
        receipt_uri -> Nullable<Text>,
        amount -> BigInt,
        currency -> Text,
        transaction_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        project_id -> Text,
        agent_id -> Text,
        method -> Text,
        reference -> Text,
        date -> Date,
        amount -> BigInt,
        currency -> Text,
        transaction_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    rule_sets (project_id, version) {
        project_id -> Text,
        version -> Integer,
        definition -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    distributions (id) {
        id -> Text,
        project_id -> Text,
        rule_set_version -> Integer,
        pool_account -> Text,
        currency -> Text,
        amount -> BigInt,
        period_from -> Date,
        period_to -> Date,
        status -> Text,
        inputs -> Text,
        plan -> Text,
        residue -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        transaction_id -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    distribution_contributions (distribution_id, contribution_id) {
        distribution_id -> Text,
        contribution_id -> Text,
    }
}

diesel::table! {
    distribution_approvals (distribution_id, approver_id) {
        distribution_id -> Text,
        approver_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> projects (project_id));
diesel::joinable!(reviews -> contributions (contribution_id));
diesel::joinable!(accounts -> units (currency));
diesel::joinable!(transactions -> projects (project_id));
diesel::joinable!(postings -> transactions (transaction_id));

diesel::table! {
    agents (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        email -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        is_admin -> Integer,
        token_version -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    memberships (project_id, agent_id) {
        project_id -> Text,
        agent_id -> Text,
        role -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(memberships -> projects (project_id));
diesel::joinable!(memberships -> agents (agent_id));

diesel::table! {
    invitations (id) {
        id -> Text,
        project_id -> Text,
        agent_id -> Text,
        role -> Text,
        invited_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(invitations -> projects (project_id));

diesel::allow_tables_to_appear_in_same_query!(
    rule_sets,
    distributions,
    distribution_contributions,
    distribution_approvals,
    grants,
    releases,
    expense_categories,
    expenses,
    payouts,
    rates,
    contributions,
    reviews,
    agents,
    memberships,
    invitations,
    units,
    projects,
    project_revisions,
    accounts,
    transactions,
    postings,
    idempotency_keys,
    claims,
    closings,
    in_kind_allocations,
    events,
    signing_keys,
    revoked_tokens,
);

diesel::table! {
    events (project_id, sequence) {
        project_id -> Text,
        sequence -> BigInt,
        id -> Text,
        kind -> Text,
        actor_id -> Text,
        request_id -> Text,
        recorded_at -> Timestamp,
        subject -> Text,
        state_before -> Nullable<Text>,
        state_after -> Nullable<Text>,
        transactions -> Text,
        previous_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Integer,
        private_key_pem -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    in_kind_allocations (contribution_id) {
        contribution_id -> Text,
        grant_id -> Text,
        project_id -> Text,
        allocated_by -> Text,
        allocated_at -> Timestamp,
    }
}

diesel::table! {
    closings (id) {
        id -> Text,
        project_id -> Text,
        through -> Date,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    claims (id) {
        id -> Text,
        project_id -> Text,
        claimant_id -> Text,
        amount -> BigInt,
        currency -> Text,
        category -> Text,
        date -> Date,
        description -> Text,
        receipt_reference -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        grant_id -> Nullable<Text>,
        expense_id -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_tokens (id) {
        id -> Text,
        agent_id -> Text,
        expires_at -> Timestamp,
    }
}
