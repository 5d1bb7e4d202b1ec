//! The GitHub deploy role (infra/github-oidc.yaml) never regains what docs/security.md says it cannot do: none of
//! the never-allowed actions, role and bucket-policy writes only under a Condition and never on every resource, IAM
//! writes only on the stacks' function roles.

use fraudwatch_tests::{repo_yaml, untagged};
use serde_norway::Value;
use wildmatch::WildMatch;

use crate::{assert_reported, cfn_text, one_or_many, yaml};

/// Actions the deploy role must never be granted, whatever the resource or condition.
const NEVER: &[&str] = &[
    "*",
    "iam:*",
    "s3:*",
    "apigateway:*",
    "sts:*",
    "kms:*",
    "secretsmanager:*",
    "organizations:*",
    "lambda:*",
    "cloudformation:*",
    "iam:CreateUser",
    "iam:DeleteUser",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AddUserToGroup",
    "iam:PutGroupPolicy",
    "iam:AttachGroupPolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreateOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateSAMLProvider",
    "iam:CreateInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "sts:AssumeRole",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "s3:PutAccountPublicAccessBlock",
    "s3:DeleteBucket",
    "s3:PutBucketCORS",
    "s3:PutReplicationConfiguration",
    "secretsmanager:GetSecretValue",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:Decrypt",
    "lambda:InvokeFunction",
    "lambda:CreateFunctionUrlConfig",
    "lambda:UpdateFunctionUrlConfig",
];

/// Allowed only with a Condition and never on Resource "*".
const CONDITIONED: &[&str] = &[
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PassRole",
    "iam:TagRole",
    "iam:UpdateRole",
    "iam:DeleteRole",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:CreateBucket",
    "apigateway:POST",
    "apigateway:PUT",
    "apigateway:PATCH",
    "apigateway:DELETE",
];

/// Allowed on Resource "*" (they have no resource-level scoping for create) but only with a Condition
/// (`lambda:FunctionArn`).
const CONDITIONED_ANY_RESOURCE: &[&str] =
    &["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"];

/// IAM writes are allowed only on the stacks' function roles.
const STACK_ROLES: &str = ":role/${StackNamePrefix}";

/// Whether a granted action (IAM's `*` and `?` wildcards, case-insensitive like IAM) covers `action`.
fn covers(granted: &str, action: &str) -> bool {
    WildMatch::new(&granted.to_lowercase()).matches(&action.to_lowercase())
}

fn on_every_resource(resources: &[String]) -> bool {
    resources.iter().any(|r| r == "*" || r.ends_with("::/*"))
}

/// What one statement of `policy` grants that it must not.
fn statement_problems(policy: &str, statement: &Value) -> Vec<String> {
    let sid = format!("{policy} {}", statement["Sid"].as_str().unwrap_or("?"));
    if statement["Effect"] != "Allow" {
        return Vec::new();
    }
    if !statement["NotAction"].is_null() || !statement["NotResource"].is_null() {
        return vec![format!("{sid}: NotAction/NotResource in an Allow")];
    }
    let actions: Vec<String> = one_or_many(&statement["Action"]).into_iter().map(cfn_text).collect();
    let resources: Vec<String> = one_or_many(&statement["Resource"]).into_iter().map(cfn_text).collect();
    let conditioned = statement["Condition"].as_mapping().is_some_and(|c| !c.is_empty());
    let everywhere = on_every_resource(&resources);
    let mut problems = Vec::new();
    for action in &actions {
        for never in NEVER.iter().filter(|n| covers(action, n)) {
            problems.push(format!("{sid}: {action} grants never-allowed {never}"));
        }
        for scoped in CONDITIONED.iter().filter(|c| covers(action, c)) {
            if !conditioned {
                problems.push(format!("{sid}: {action} (covers {scoped}) without a Condition"));
            }
            if everywhere {
                problems.push(format!("{sid}: {action} (covers {scoped}) on every resource"));
            }
        }
        for scoped in CONDITIONED_ANY_RESOURCE.iter().filter(|c| covers(action, c)) {
            if !conditioned {
                problems.push(format!("{sid}: {action} (covers {scoped}) without a Condition"));
            }
        }
        let lower = action.to_lowercase();
        let iam_write = lower.starts_with("iam:") && !lower.starts_with("iam:get") && !lower.starts_with("iam:list");
        if iam_write && !resources.iter().all(|r| r.contains(STACK_ROLES)) {
            problems.push(format!("{sid}: {action} on a resource other than the stacks' roles: {resources:?}"));
        }
        if lower.starts_with("apigateway:") && everywhere {
            problems.push(format!("{sid}: {action} on every API Gateway resource"));
        }
    }
    problems
}

/// The deploy role's statements (its managed policies', each defined in the template, and its inline policies'),
/// and what they grant that they must not. A managed policy from outside the template cannot be checked: that is a
/// problem too.
fn deploy_role_problems(template: &Value) -> (usize, Vec<String>) {
    let resources = &template["Resources"];
    let role = &resources["DeployRole"]["Properties"];
    let mut problems = Vec::new();
    let mut statements: Vec<(String, &Value)> = Vec::new();
    for reference in one_or_many(&role["ManagedPolicyArns"]) {
        let name = match reference {
            Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str(),
            _ => None,
        };
        match name.filter(|name| resources.get(name).is_some()) {
            Some(name) => statements.extend(
                one_or_many(&resources[name]["Properties"]["PolicyDocument"]["Statement"])
                    .into_iter()
                    .map(|s| (name.to_string(), s)),
            ),
            None => problems.push(format!(
                "DeployRole: managed policy {} is not defined in the template: cannot check it",
                cfn_text(reference)
            )),
        }
    }
    for policy in one_or_many(&role["Policies"]) {
        let name = cfn_text(&policy["PolicyName"]);
        statements.extend(one_or_many(&policy["PolicyDocument"]["Statement"]).into_iter().map(|s| (name.clone(), s)));
    }
    for (policy, statement) in &statements {
        problems.extend(statement_problems(policy, statement));
    }
    (statements.len(), problems)
}

fn oidc_template() -> Value {
    repo_yaml("infra/github-oidc.yaml")
}

#[test]
fn the_deploy_role_grants_nothing_it_must_not() {
    let (statements, problems) = deploy_role_problems(&oidc_template());
    assert!(statements >= 20, "only {statements} statements found: has the template's layout changed?");
    assert!(problems.is_empty(), "the deploy role grants what it must not:\n{}", problems.join("\n"));
}

/// The problems of the deploy role once `statement` (YAML) is added to its first managed policy.
fn with_statement(statement: &str) -> Vec<String> {
    let mut template = oidc_template();
    let first = &template["Resources"]["DeployRole"]["Properties"]["ManagedPolicyArns"][0];
    let policy = untagged(first).as_str().expect("a !Ref to a managed policy").to_string();
    let statements = template["Resources"][policy.as_str()]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .expect("the managed policy's statements");
    statements.push(yaml(statement));
    deploy_role_problems(&template).1
}

#[test]
fn canary_trust_policy_update_without_a_condition() {
    let problems = with_statement(
        "{Sid: canary, Effect: Allow, Action: iam:UpdateAssumeRolePolicy, \
         Resource: 'arn:aws:iam::1:role/${StackNamePrefix}*'}",
    );
    assert_reported(&problems, "canary: iam:UpdateAssumeRolePolicy (covers iam:UpdateAssumeRolePolicy) without a");
}

#[test]
fn canary_bucket_write_wildcard() {
    let problems = with_statement(
        "{Sid: canary, Effect: Allow, Action: s3:PutBucket*, Resource: 'arn:aws:s3:::${StackNamePrefix}*'}",
    );
    assert_reported(&problems, "canary: s3:PutBucket* grants never-allowed s3:PutBucketAcl");
    assert_reported(&problems, "canary: s3:PutBucket* (covers s3:PutBucketPolicy) without a Condition");
}

#[test]
fn canary_api_gateway_wildcard_on_every_resource() {
    let problems = with_statement("{Sid: canary, Effect: Allow, Action: apigateway:*, Resource: '*'}");
    assert_reported(&problems, "canary: apigateway:* on every API Gateway resource");
}

#[test]
fn canary_administrator() {
    let problems = with_statement("{Sid: canary, Effect: Allow, Action: '*', Resource: '*'}");
    assert_reported(&problems, "canary: * grants never-allowed *");
}

#[test]
fn canary_role_policy_write_outside_the_stacks_roles() {
    let problems = with_statement(
        "{Sid: canary, Effect: Allow, Action: iam:PutRolePolicy, Resource: 'arn:aws:iam::1:role/admin', \
         Condition: {StringEquals: {iam:PermissionsBoundary: x}}}",
    );
    assert_reported(&problems, "canary: iam:PutRolePolicy on a resource other than the stacks' roles");
}

#[test]
fn canary_users_and_access_keys() {
    let problems =
        with_statement("{Sid: canary, Effect: Allow, Action: [iam:CreateUser, iam:CreateAccessKey], Resource: '*'}");
    assert_reported(&problems, "canary: iam:CreateUser grants never-allowed iam:CreateUser");
    assert_reported(&problems, "canary: iam:CreateAccessKey grants never-allowed iam:CreateAccessKey");
}

#[test]
fn canary_not_action_in_an_allow() {
    let problems = with_statement("{Sid: canary, Effect: Allow, NotAction: iam:DeleteRole, Resource: '*'}");
    assert_reported(&problems, "canary: NotAction/NotResource in an Allow");
}

#[test]
fn canary_inline_policy() {
    let mut template = oidc_template();
    let role = template["Resources"]["DeployRole"]["Properties"].as_mapping_mut().unwrap();
    role.insert(
        "Policies".into(),
        yaml("[{PolicyName: inline, PolicyDocument: {Statement: [{Sid: canary, Effect: Allow, Action: kms:Decrypt, Resource: '*'}]}}]"),
    );
    assert_reported(&deploy_role_problems(&template).1, "inline canary: kms:Decrypt grants never-allowed kms:Decrypt");
}

#[test]
fn canary_managed_policy_from_outside_the_template() {
    let mut template = oidc_template();
    let arns = template["Resources"]["DeployRole"]["Properties"]["ManagedPolicyArns"].as_sequence_mut().unwrap();
    arns.push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    assert_reported(
        &deploy_role_problems(&template).1,
        "managed policy arn:aws:iam::aws:policy/AdministratorAccess is not",
    );
}
