//! The function roles and resource policies of infra/template.yaml: every role trusted by Lambda only, no resource
//! policy or Lambda permission open to every principal. The deploy role can change these through CloudFormation (it
//! must, to deploy them): what keeps a widened trust policy or a public bucket policy out of a deployed stack is this
//! check in the CI every deploy needs, on the main branch prod deploys only from (docs/security.md, "What the deploy
//! role can still do through CloudFormation").

use fraudwatch_tests::repo_yaml;
use serde_norway::Value;

use crate::{assert_reported, one_or_many, yaml};

const LAMBDA: &str = "lambda.amazonaws.com";

/// A trust policy statement other than "Lambda may assume this role", unconditioned.
fn trust_problems(role: &str, statements: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for statement in one_or_many(statements) {
        let principal = &statement["Principal"];
        let actions = one_or_many(&statement["Action"]);
        if statement["Effect"] != "Allow" || actions != ["sts:AssumeRole"] || !statement["Condition"].is_null() {
            problems
                .push(format!("{role}: a trust statement other than Allow sts:AssumeRole for Lambda: {statement:?}"));
        } else if principal.as_mapping().is_none_or(|p| p.len() != 1) || one_or_many(&principal["Service"]) != [LAMBDA]
        {
            problems.push(format!("{role}: trusts {principal:?}, not only {LAMBDA}"));
        }
    }
    problems
}

/// `"*"`, `{AWS: "*"}` and `{AWS: ["*", ...]}`: every principal.
fn everyone(principal: &Value) -> bool {
    principal == "*" || one_or_many(&principal["AWS"]).iter().any(|p| *p == "*")
}

/// The template's roles, its resource policies, and the problems of both.
fn template_access_problems(template: &Value) -> (usize, usize, Vec<String>) {
    let (mut roles, mut policies, mut problems) = (0, 0, Vec::new());
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        let name = name.as_str().unwrap_or("?");
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => {
                roles += 1;
                problems.extend(trust_problems(name, &properties["AssumeRolePolicyDocument"]["Statement"]));
            }
            Some("AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy") => {
                policies += 1;
                for statement in one_or_many(&properties["PolicyDocument"]["Statement"]) {
                    if statement["Effect"] == "Allow" && everyone(&statement["Principal"]) {
                        let sid = statement["Sid"].as_str().unwrap_or("?");
                        problems.push(format!("{name} {sid}: Allow to every principal"));
                    }
                }
            }
            Some("AWS::Lambda::Permission") if everyone(&properties["Principal"]) => {
                problems.push(format!("{name}: lambda:InvokeFunction for every principal"));
            }
            _ => {}
        }
    }
    (roles, policies, problems)
}

fn template() -> Value {
    repo_yaml("infra/template.yaml")
}

#[test]
fn function_roles_are_trusted_by_lambda_only_and_no_resource_policy_is_public() {
    let (roles, policies, problems) = template_access_problems(&template());
    assert_eq!(roles, 3, "the three function roles");
    assert!(policies >= 2, "the queue and bucket policies: {policies}");
    assert!(problems.is_empty(), "infra/template.yaml widens access:\n{}", problems.join("\n"));
}

/// The problems once `statement` (YAML) is added to the statements of `resource`'s `document`.
fn with_statement(resource: &str, document: &str, statement: &str) -> Vec<String> {
    let mut template = template();
    let statements = template["Resources"][resource]["Properties"][document]["Statement"]
        .as_sequence_mut()
        .unwrap_or_else(|| panic!("{resource} has no {document} statements"));
    statements.push(yaml(statement));
    template_access_problems(&template).2
}

#[test]
fn canary_role_trusted_by_every_account() {
    let problems = with_statement(
        "PredictFunctionRole",
        "AssumeRolePolicyDocument",
        "{Effect: Allow, Principal: {AWS: '*'}, Action: sts:AssumeRole}",
    );
    assert_reported(&problems, "PredictFunctionRole: trusts");
}

#[test]
fn canary_role_trusted_by_another_service_too() {
    let problems = with_statement(
        "DriftCheckFunctionRole",
        "AssumeRolePolicyDocument",
        "{Effect: Allow, Principal: {Service: [lambda.amazonaws.com, ec2.amazonaws.com]}, Action: sts:AssumeRole}",
    );
    assert_reported(&problems, "DriftCheckFunctionRole: trusts");
}

#[test]
fn canary_role_trusted_by_a_web_identity() {
    let problems = with_statement(
        "PredictionLoggerFunctionRole",
        "AssumeRolePolicyDocument",
        "{Effect: Allow, Principal: {Federated: x}, Action: sts:AssumeRoleWithWebIdentity}",
    );
    assert_reported(&problems, "PredictionLoggerFunctionRole: a trust statement other than Allow sts:AssumeRole");
}

#[test]
fn canary_public_bucket_policy() {
    let problems = with_statement(
        "DataBucketPolicy",
        "PolicyDocument",
        "{Sid: canary, Effect: Allow, Principal: '*', Action: s3:GetObject, Resource: '*'}",
    );
    assert_reported(&problems, "DataBucketPolicy canary: Allow to every principal");
}

#[test]
fn canary_public_queue_policy() {
    let problems = with_statement(
        "PredictionLogQueuesPolicy",
        "PolicyDocument",
        "{Sid: canary, Effect: Allow, Principal: {AWS: ['*']}, Action: sqs:SendMessage, Resource: '*'}",
    );
    assert_reported(&problems, "PredictionLogQueuesPolicy canary: Allow to every principal");
}

#[test]
fn canary_function_invocable_by_everyone() {
    let mut template = template();
    let resources = template["Resources"].as_mapping_mut().unwrap();
    let permission = "{Type: AWS::Lambda::Permission, Properties: {Action: lambda:InvokeFunction, \
                      FunctionName: !Ref PredictFunction, Principal: '*'}}";
    resources.insert("CanaryPermission".into(), yaml(permission));
    assert_reported(&template_access_problems(&template).2, "CanaryPermission: lambda:InvokeFunction for every");
}
