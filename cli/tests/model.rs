//! `fraudctl model` as an operator runs it: the real binary against a real S3 server (s3s-fs), configured
//! only through the environment (AWS_ENDPOINT_URL, S3_FORCE_PATH_STYLE, MODEL_REGISTRY_URI) and flags.

use std::process::Command;

use fraudwatch_tests::{repo_root, S3Server, ACCESS_KEY, REGION, SECRET_KEY};

const BUCKET: &str = "fraudwatch-models";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn fraudctl(server: &S3Server, registry: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fraudctl"))
        .env_clear()
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("MODEL_REGISTRY_URI", registry)
        .args(args)
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn push_promote_list_show_and_a_refused_rollback() {
    let server = S3Server::start().await.unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let registry = format!("s3://{BUCKET}/models/fraud-detector");
    let model_dir = repo_root().join("model");
    let model_dir = model_dir.to_str().unwrap();

    let run = fraudctl(&server, &registry, &["model", "push", model_dir]);
    assert!(run.ok && run.stdout.contains("pushed v1"), "{}{}", run.stdout, run.stderr);
    let mut keys = server.keys(BUCKET, "models/fraud-detector/v1/").await.unwrap();
    keys.sort_unstable();
    let files: Vec<&str> = keys.iter().map(|k| k.rsplit('/').next().unwrap()).collect();
    assert_eq!(files, ["card.json", "model.onnx", "reference.csv.gz", "trees.json"], "the explanation goes too");
    let run = fraudctl(&server, &registry, &["model", "push", model_dir]);
    assert!(run.ok && run.stdout.contains("nothing written"), "{}{}", run.stdout, run.stderr);

    let run = fraudctl(&server, &registry, &["model", "promote", "v1"]);
    assert!(run.ok && run.stdout.contains("champion is now v1"), "{}{}", run.stdout, run.stderr);
    let run = fraudctl(&server, &registry, &["model", "list"]);
    assert!(run.ok && run.stdout.starts_with("* v1 "), "{}{}", run.stdout, run.stderr);
    let run = fraudctl(&server, &registry, &["model", "show", "v1"]);
    assert!(run.ok && run.stdout.contains("\"version\": \"v1\""), "{}{}", run.stdout, run.stderr);

    // --registry wins over the environment.
    let run = fraudctl(&server, "s3://elsewhere/x", &["model", "rollback", "--registry", &registry]);
    assert!(!run.ok && run.stderr.contains("nothing to roll back to"), "{}{}", run.stdout, run.stderr);
    let run = fraudctl(&server, &registry, &["model", "list", "--registry", "models/fraud-detector"]);
    assert!(!run.ok && run.stderr.contains("must start with s3://"), "{}{}", run.stdout, run.stderr);
}
