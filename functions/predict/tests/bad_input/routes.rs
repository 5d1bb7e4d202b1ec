//! Methods, paths and query parameters.

use super::*;

pub(crate) fn methods_and_paths(cases: &mut Cases, base: &Obj) {
    let c = "method_path";
    let body = base.render();
    for path in ["/predict", "/predict/batch", "/predict/", "/predict/batch/"] {
        for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "post", "Post", "FOO"] {
            let req = Req { method: method.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{method} {path}"), req, Some(405), &[]);
        }
    }
    for path in ["/", "/health", "/model"] {
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let req = Req { method: method.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{method} {path}"), req, Some(405), &[]);
        }
    }
    let long = format!("/{}", "a".repeat(4_000));
    let unknown = [
        "/predict2",
        "/Predict",
        "/PREDICT",
        "/predict/batch/extra",
        "/predict/batch2",
        "/predictions",
        "/predict/../health",
        "/predict%2Fbatch",
        "/health/x",
        "/models",
        "/v1/predict",
        "/api/predict",
        "//predict",
        "/predict/./batch",
        "/.env",
        "/admin",
        "/%00",
        "/predict;jsessionid=1",
        "/predict%20",
        "/%E2%80%8Bpredict",
        "/predict/batch%00",
        "/predict//batch",
        "/..",
        "/model/../predict",
        &long,
    ];
    for path in unknown {
        for method in ["GET", "POST"] {
            let shown: String = path.chars().take(40).collect();
            cases.refuse(
                c,
                format!("{method} {shown}"),
                Req { method: method.into(), ..post(path, body.clone()) },
                Some(404),
                &[],
            );
        }
    }
}

/// Query strings the predict routes refuse: `explain` with any value but true/false, given twice or empty, and
/// any other parameter (percent-encoded, unicode, huge, empty names), alone or next to a valid `explain`. As
/// API Gateway passes them: percent-encoded (lambda_http cannot build a request whose query holds characters a
/// URI may not, such as a raw space or non-ASCII).
pub(crate) fn query_parameters(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "query_parameters";
    let body = base.render();
    let bad_values = [
        "yes",
        "no",
        "1",
        "0",
        "TRUE",
        "True",
        "False",
        "t",
        "on",
        "",
        "%20true",
        "true%20",
        "+true",
        "tru",
        "truee",
        "null",
        "%00",
        "%FF",
        "%ZZ",
        "true%00",
        "%F0%9F%99%82",
        "%22true%22",
        "%5Btrue%5D",
    ];
    for path in ["/predict", "/predict/batch"] {
        for value in bad_values {
            let req = Req { query: format!("explain={value}"), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?explain={value}"), req, Some(400), &["explain"]);
        }
        for query in
            ["explain", "explain=", "explain=true&explain=true", "explain=true&explain=false", "explain&explain"]
        {
            let req = Req { query: query.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?{query}"), req, Some(400), &["explain"]);
        }
        for name in ["explian", "Explain", "EXPLAIN", "explain_", "debug", "reasons", "top", "v", "x1"] {
            for query in [format!("{name}=true"), format!("explain=true&{name}=1"), format!("{name}&explain=false")] {
                let req = Req { query: query.clone(), ..post(path, body.clone()) };
                cases.refuse(c, format!("{path}?{query}"), req, Some(400), &[name]);
            }
        }
        // Names that are not plain text: a 400 whose detail is short whatever the name.
        let long = "n".repeat(10_000);
        for query in ["=true", "&&=&", "%3D=true", "%26=1", "%00=1", "%FF%FE=1", "a%20b=1", "%F0%9F%99%82=1", &long] {
            let req = Req { query: query.to_string(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?{}", query.chars().take(20).collect::<String>()), req, Some(400), &[]);
        }
        for n in 0..40 {
            let mut pairs: Vec<String> =
                (0..1 + rng.below(6)).map(|_| format!("p{}={}", rng.below(100), rng.below(100))).collect();
            if rng.chance(50) {
                pairs.insert(rng.below(pairs.len() + 1), "explain=true".into());
            }
            let req = Req { query: pairs.join("&"), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path} random #{n}"), req, Some(400), &[]);
        }
    }
}
