//! The integration tests, in one binary so that wasmtime is linked once (issue 15): each
//! module is one area, named as the files were before.

mod access_model;
mod built_steps;
mod common;

mod access_incremental;
mod access_properties;
mod access_questions;
mod access_rules;
mod cases;
mod cli_step;
mod cli_tenant;
mod concurrency;
mod db_migrate;
mod doors;
mod durability;
mod exit_codes;
mod harness;
mod hostile_runs;
mod housekeeping;
mod http_api;
mod identity_input;
mod input_robustness;
mod interaction_access;
mod interactions;
mod oracles;
mod pinned_nested;
mod polyglot;
mod postgres_schema;
mod published_revisions;
mod run_commits;
mod run_identity_sso;
mod sample_steps;
mod sandbox;
mod serve;
mod signin_limits;
mod step_mocks;
mod stored_data;
mod web;
mod web_browser;
mod web_cases;
mod web_flows;
mod web_oidc;
mod workflow_run;
mod workflow_triggers;
mod workflow_validate;
