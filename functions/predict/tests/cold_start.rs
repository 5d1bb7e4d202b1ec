//! A bad deployment fails the cold start loudly, naming what is wrong, instead of serving errors.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_predict"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_missing_queue_url_is_named() {
    let (ok, stderr) = start(&[("ORT_DYLIB_PATH", env!("ORT_DYLIB_PATH"))]);
    assert!(!ok);
    assert!(stderr.contains("PREDICTION_LOG_QUEUE_URL is required but not set"), "{stderr}");
}

#[test]
fn a_missing_onnx_runtime_is_named() {
    let (ok, stderr) = start(&[
        ("PREDICTION_LOG_QUEUE_URL", "http://127.0.0.1:1/q"),
        ("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1"),
    ]);
    assert!(!ok);
    assert!(stderr.contains("ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so.1 is not a file"), "{stderr}");
}

#[test]
fn a_library_that_is_not_onnx_runtime_is_refused() {
    let (ok, stderr) = start(&[("PREDICTION_LOG_QUEUE_URL", "http://127.0.0.1:1/q"), ("ORT_DYLIB_PATH", "/bin/sh")]);
    assert!(!ok);
    assert!(stderr.contains("ONNX Runtime could not be initialised from /bin/sh"), "{stderr}");
}
