//! Batch cases (`POST /predict/batch`), and random combinations of several faults in one request.

use super::*;

pub(crate) fn batches(cases: &mut Cases, base: &Obj, rows: &[Vec<f64>], rng: &mut Rng) {
    let c = "batch";
    let small = Obj::from_values(&[0.0; 29]).render();
    for n in [MAX_BATCH_SIZE + 1, MAX_BATCH_SIZE + 2, 1_000, 3_000] {
        cases.refuse(
            c,
            format!("{n} transactions"),
            post("/predict/batch", batch(&vec![small.clone(); n])),
            Some(422),
            &[],
        );
    }
    cases.refuse(c, "no transactions", post("/predict/batch", batch(&[])), Some(422), &[]);
    let shapes = [
        ("transactions null", "{\"transactions\":null}".to_string()),
        ("no transactions key", "{}".to_string()),
        ("transactions an object", format!("{{\"transactions\":{}}}", base.render())),
        ("transactions a string", "{\"transactions\":\"[]\"}".to_string()),
        ("transactions a number", "{\"transactions\":1}".to_string()),
        ("an extra top-level key", format!("{{\"transactions\":[{}],\"extra\":1}}", base.render())),
        ("Transactions", format!("{{\"Transactions\":[{}]}}", base.render())),
        ("transactions twice", format!("{{\"transactions\":[{0}],\"transactions\":[{0}]}}", base.render())),
        ("a bare array", format!("[{}]", base.render())),
        ("a single transaction", base.render()),
        ("nested batches", format!("{{\"transactions\":[{}]}}", batch(&[base.render()]))),
    ];
    for (label, body) in shapes {
        cases.refuse(c, label, post("/predict/batch", body), Some(422), &[]);
    }
    cases.refuse(
        c,
        "a batch posted to /predict",
        post("/predict", batch(&[base.render()])),
        Some(422),
        &["transactions"],
    );

    // One bad item among good ones, at every position: what the item gets wrong, the field the error must name,
    // and the status.
    let set = |field: &'static str, raw: &'static str| -> Edit {
        Box::new(move |o: &mut Obj| {
            o.set(field, raw);
        })
    };
    let faults: Vec<(&str, Edit, &str, u16)> = vec![
        ("without V3", Box::new(|o: &mut Obj| _ = o.remove("V3")), "V3", 422),
        ("V3 a string", set("V3", "\"0.5\""), "V3", 422),
        ("V3 null", set("V3", "null"), "V3", 422),
        ("Amount negative", set("Amount", "-0.01"), "Amount", 422),
        ("an unknown key", Box::new(|o: &mut Obj| _ = o.insert(3, key("merchant"), "1".into())), "merchant", 422),
        ("V9 twice", Box::new(|o: &mut Obj| _ = o.insert(0, key("V9"), "1".into())), "V9", 422),
        ("V7 1e39", set("V7", "1e39"), "V7", 422),
        ("Time a string", set("Time", "\"0\""), "Time", 422),
        ("V12 NaN", set("V12", "NaN"), "V12", 400),
        ("V12 1e309", set("V12", "1e309"), "V12", 400),
        ("V12 deeply nested", Box::new(|o: &mut Obj| _ = o.set("V12", "[".repeat(500))), "V12", 400),
        ("empty object", Box::new(|o: &mut Obj| o.0.clear()), "V1", 422),
    ];
    // `rendered` with its item `at` replaced by `bad` carrying `fault`: refused, naming the item's field.
    let mut refuse_item = |rendered: &[String], at: usize, mut bad: Obj, fault: &(&str, Edit, &str, u16)| {
        let (label, edit, field, status) = fault;
        edit(&mut bad);
        let mut rendered = rendered.to_vec();
        rendered[at] = bad.render();
        cases.refuse_named(
            c,
            format!("item {at} of {}: {label}", rendered.len()),
            post("/predict/batch", batch(&rendered)),
            Some(*status),
            vec![format!("transactions[{at}].{field}")],
        );
    };
    let items: Vec<Obj> = rows.iter().take(5).map(|r| Obj::from_values(r)).collect();
    let five: Vec<String> = items.iter().map(Obj::render).collect();
    for fault in &faults {
        for (at, item) in items.iter().enumerate() {
            refuse_item(&five, at, item.clone(), fault);
        }
    }
    // A full-size batch with one bad item somewhere.
    let full: Vec<String> = (0..MAX_BATCH_SIZE).map(|i| Obj::from_values(&rows[i % rows.len()]).render()).collect();
    for _ in 0..12 {
        let at = rng.below(MAX_BATCH_SIZE);
        refuse_item(&full, at, Obj::from_values(&rows[at % rows.len()]), &faults[rng.below(faults.len())]);
    }
    for raw_item in ["null", "42", "\"x\"", "[]", "[1,2]", "true"] {
        for at in 0..3 {
            let mut rendered: Vec<String> = five.iter().take(3).cloned().collect();
            rendered[at] = raw_item.into();
            cases.refuse(
                c,
                format!("item {at} of 3 is {raw_item}"),
                post("/predict/batch", batch(&rendered)),
                Some(422),
                &[],
            );
        }
    }
}

/// An edit that makes one batch item bad.
type Edit = Box<dyn Fn(&mut Obj)>;

/// A random mix of one to four faults on distinct fields, in random formatting, sometimes inside a batch.
pub(crate) fn random_multi_fault(cases: &mut Cases, rows: &[Vec<f64>], rng: &mut Rng, count: usize) {
    let c = "random_multi_fault";
    let targets: Vec<&str> = FEATURE_NAMES.iter().copied().chain(["Time", "transaction_id"]).collect();
    for n in 0..count {
        let row = rng.below(rows.len());
        let mut o = Obj::from_values(&rows[row]);
        if rng.chance(50) {
            o.set("Time", number(rng.below(172_792) as f64));
        }
        if rng.chance(50) {
            o.set("transaction_id", string(&format!("tx-{n}")));
        }
        rng.shuffle(&mut o.0);
        let mut chosen = targets.clone();
        rng.shuffle(&mut chosen);
        chosen.truncate(1 + rng.below(4));
        let mut named: Vec<String> = Vec::new();
        let mut syntax_fields: Vec<String> = Vec::new();
        let mut labels = Vec::new();
        for target in chosen {
            let optional = target == "Time" || target == "transaction_id";
            if o.position(target).is_none() {
                o.set(target, if target == "Time" { "0".into() } else { string("tx") });
            }
            let fault = rng.below(9);
            let label = match fault {
                0 => {
                    let raw = *rng.pick(&WRONG_TYPES);
                    let raw = if target == "transaction_id" && raw.starts_with('"') { "1.5" } else { raw };
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                1 if target != "transaction_id" => {
                    let raw = *rng.pick(&NUMBER_STRINGS);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                2 if target != "transaction_id" => {
                    let raw = *rng.pick(&NON_FINITE[..20]);
                    o.set(target, raw);
                    syntax_fields.push(target.into());
                    format!("{target}={raw}")
                }
                3 if !optional => {
                    let raw = *rng.pick(&["1e39", "-1e39", "3.5e38", "-3.5e38"]);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                4 if !optional => {
                    o.remove(target);
                    named.push(target.into());
                    format!("no {target}")
                }
                5 => {
                    let at = rng.below(o.0.len() + 1);
                    let value = o.value(target);
                    o.insert(at, key(target), value);
                    named.push(target.into());
                    format!("{target} twice")
                }
                6 if !optional => {
                    let wrongs = misspellings(target);
                    let wrong = rng.pick(&wrongs).clone();
                    o.rename(target, key(&wrong));
                    named.push(wrong.clone());
                    named.push(target.into());
                    format!("{target} as {wrong:?}")
                }
                7 if target == "Amount" || target == "Time" => {
                    let raw = *rng.pick(&["-0.01", "-1", "-1e-30", "-149.62"]);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                _ => {
                    let raw = *rng.pick(&SYNTAX_VALUES);
                    o.set(target, raw);
                    syntax_fields.push(target.into());
                    format!("{target}={raw}")
                }
            };
            labels.push(label);
        }
        if rng.chance(30) {
            let k = format!("extra_{}", rng.below(1000));
            let at = rng.below(o.0.len() + 1);
            o.insert(at, key(&k), "1".into());
            named.push(k);
        }
        let rendered = if rng.chance(50) { o.render() } else { o.render_spaced(rng) };
        // A syntax error stops parsing at the first one in body order: only that field can be named.
        let first_syntax =
            o.0.iter()
                .map(|(k, _)| serde_json::from_str::<String>(k).unwrap())
                .find(|k| syntax_fields.contains(k) && o.position(k).is_some());
        // Every fault in `syntax_fields` is a JSON syntax error (400); without one, field errors (422).
        let (status, named) = match first_syntax {
            Some(field) => (400, vec![field]),
            None => (422, named),
        };
        let in_batch = rng.chance(30);
        let (path, body, named) = if in_batch {
            let others = 1 + rng.below(4);
            let at = rng.below(others + 1);
            let mut items: Vec<String> =
                (0..others).map(|i| Obj::from_values(&rows[(row + 1 + i) % rows.len()]).render()).collect();
            items.insert(at, rendered);
            let named = named.into_iter().map(|f| format!("transactions[{at}].{f}")).collect();
            ("/predict/batch", batch(&items), named)
        } else {
            ("/predict", rendered, named)
        };
        cases.refuse_named(c, format!("#{n} {path}: {}", labels.join(", ")), post(path, body), Some(status), named);
    }
}
