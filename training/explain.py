"""TreeSHAP artifact (model/trees.json), its TreeSHAP parity fixture and the feature importance.

Called by train.py (the booster only exists there); nothing here changes model.onnx, reference.csv.gz
or parity.csv. Every check raises SystemExit (non-zero exit of train.py) when it fails.

trees.json: the XGBoost trees WITH node covers (hessian sums), which the ONNX TreeEnsembleClassifier does
not carry and exact TreeSHAP needs:

    {"model_sha256": hex of model.onnx, "base_margin": logit(base_score),
     "feature_names": [29 names in model order],
     "trees": [{"nodes": [node, ...]}, ...]}            nodes[i] = XGBoost node id i
    split: {"feature": 0..28, "threshold": t, "yes": id, "no": id, "missing": id, "cover": c}
           (go to "yes" when x < t, x and t float32; "missing" when x is NaN)
    leaf:  {"leaf": v, "cover": c}
    margin = base_margin + sum over trees of the leaf reached; P(fraud) = 1 / (1 + exp(-margin)).

Floats are float32 values written as repr(float(np.float32(v))) (the shortest text of their double).
"""

from __future__ import annotations

import io
import json
import math

import numpy as np

EVAL_TOLERANCE = 1e-6      # max |sigmoid(trees.json margin) - ONNX Runtime probabilities[:,1]|
CONTRIB_SUM_TOLERANCE = 1e-4  # max |sum of the 30 contribution columns - margin| per parity row

# importance rule (card.importance.rule)
IMPORTANCE_CUMULATIVE_SHARE = 2.0 / 3.0
IMPORTANCE_MAX_FEATURES = 6
IMPORTANCE_ALWAYS = "Amount"
IMPORTANCE_RULE = (
    "Rank the 29 features by their share of the model's total gain (descending, model order on a tie) and "
    "take the top ones until their cumulative share is >= 2/3 (at most 6), then add Amount (the one raw, "
    "non-PCA input, the first to move when the merchant/customer mix changes) if it is not already in."
)


def f32(v: float) -> float:
    """The float32 nearest to v, as a Python float (its exact double); json writes it as repr()."""
    return float(np.float32(v))


def _fail(msg: str) -> None:
    raise SystemExit(f"TREES CHECK FAILURE: {msg}")


# --------------------------------------------------------------------------------------------- export
def base_margin_of(booster) -> float:
    cfg = json.loads(booster.save_config())
    lp = cfg["learner"]["learner_model_param"]
    raw = lp["base_score"].strip("[]")
    if "," in raw or lp.get("num_target", "1") != "1":
        _fail(f"expected one base_score, got {lp['base_score']!r}")
    obj = cfg["learner"]["objective"]["name"]
    if obj != "binary:logistic":
        _fail(f"objective {obj!r} is not binary:logistic")
    base_score = float(np.float32(float(raw)))
    return f32(math.log(base_score / (1.0 - base_score)))


def export_trees(booster, feature_names: list[str], model_sha256: str) -> dict:
    """trees.json document from get_dump(json, with_stats), cross-checked against the booster's own
    JSON model (save_raw("json"): split_conditions, sum_hessian, children, default_left, split_indices)."""
    dumps = booster.get_dump(dump_format="json", with_stats=True)
    raw = json.loads(bytes(booster.save_raw(raw_format="json")))
    model_trees = raw["learner"]["gradient_booster"]["model"]["trees"]
    if len(model_trees) != len(dumps):
        _fail(f"{len(dumps)} dumped trees vs {len(model_trees)} in the model")
    trees = []
    for t, text in enumerate(dumps):
        flat: dict[int, dict] = {}
        stack = [json.loads(text)]
        while stack:
            n = stack.pop()
            nid = int(n["nodeid"])
            if nid in flat:
                _fail(f"tree {t}: node id {nid} twice")
            if "leaf" in n:
                flat[nid] = {"leaf": f32(n["leaf"]), "cover": f32(n["cover"])}
            else:
                split = n["split"]
                if not (split.startswith("f") and split[1:].isdigit()):
                    _fail(f"tree {t} node {nid}: unexpected split name {split!r}")
                feat = int(split[1:])
                if not 0 <= feat < len(feature_names):
                    _fail(f"tree {t} node {nid}: feature {feat} out of range")
                flat[nid] = {"feature": feat, "threshold": f32(n["split_condition"]), "yes": int(n["yes"]),
                             "no": int(n["no"]), "missing": int(n["missing"]), "cover": f32(n["cover"])}
                kids = {int(c["nodeid"]) for c in n["children"]}
                if kids != {flat[nid]["yes"], flat[nid]["no"]} or flat[nid]["missing"] not in kids:
                    _fail(f"tree {t} node {nid}: children {kids} vs yes/no/missing")
                stack.extend(n["children"])
        if sorted(flat) != list(range(len(flat))):
            _fail(f"tree {t}: node ids are not 0..{len(flat) - 1}")
        nodes = [flat[i] for i in range(len(flat))]
        # the same tree in the booster's JSON model (shortest float32 text there, 9 digits in the dump)
        m = model_trees[t]
        if int(m["tree_param"]["num_nodes"]) != len(nodes) or int(m["tree_param"]["num_deleted"]) != 0:
            _fail(f"tree {t}: node count differs from the model JSON")
        for i, nd in enumerate(nodes):
            if f32(m["sum_hessian"][i]) != nd["cover"]:
                _fail(f"tree {t} node {i}: cover {nd['cover']} vs sum_hessian {m['sum_hessian'][i]}")
            left, right = int(m["left_children"][i]), int(m["right_children"][i])
            if "leaf" in nd:
                if left != -1 or f32(m["split_conditions"][i]) != nd["leaf"]:
                    _fail(f"tree {t} node {i}: leaf differs from the model JSON")
            else:
                default = left if int(m["default_left"][i]) else right
                if ((left, right, default, int(m["split_indices"][i])) !=
                        (nd["yes"], nd["no"], nd["missing"], nd["feature"])
                        or f32(m["split_conditions"][i]) != nd["threshold"]
                        or int(m["split_type"][i]) != 0):
                    _fail(f"tree {t} node {i}: split differs from the model JSON")
        trees.append({"nodes": nodes})
    return {
        "model_sha256": model_sha256,
        "base_margin": base_margin_of(booster),
        "feature_names": list(feature_names),
        "trees": trees,
    }


def trees_json_bytes(doc: dict) -> bytes:
    """Deterministic text: one node per line (json.dumps writes floats as repr)."""
    def d(v) -> str:
        return json.dumps(v, ensure_ascii=True, allow_nan=False, separators=(", ", ": "))

    out = io.StringIO()
    out.write("{\n")
    out.write(f'"model_sha256": {d(doc["model_sha256"])},\n')
    out.write(f'"base_margin": {d(doc["base_margin"])},\n')
    out.write(f'"feature_names": {d(doc["feature_names"])},\n')
    out.write('"trees": [\n')
    for t, tree in enumerate(doc["trees"]):
        out.write('{"nodes": [\n')
        out.write(",\n".join(d(n) for n in tree["nodes"]))
        out.write("\n]}" + ("," if t + 1 < len(doc["trees"]) else "") + "\n")
    out.write("]\n}\n")
    text = out.getvalue()
    if json.loads(text) != doc:
        _fail("trees.json text does not read back to the same document")
    return text.encode("ascii")


# --------------------------------------------------------------------------------- checks vs ONNX
def verify_against_onnx(doc: dict, onx) -> dict:
    """Structure of trees.json == the ONNX TreeEnsembleClassifier (node ids there are renumbered, so
    the trees are walked in parallel from the root); returns counts for the report."""
    from onnx import helper

    (node,) = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    post = a.get("post_transform", b"NONE")
    post = post.decode() if isinstance(post, bytes) else post
    if post != "LOGISTIC":
        _fail(f"post_transform {post!r}")
    base_values = [float(v) for v in a.get("base_values", [])]
    if base_values not in ([], [doc["base_margin"]]) and not (base_values == [0.0] * len(base_values)
                                                             and doc["base_margin"] == 0.0):
        _fail(f"ONNX base_values {base_values} vs base_margin {doc['base_margin']}")
    if list(a["classlabels_int64s"]) != [0, 1] or set(a["class_ids"]) != {0}:
        _fail("expected a binary classifier with one weight per leaf (class id 0)")
    tids, nids = list(a["nodes_treeids"]), list(a["nodes_nodeids"])
    onnx_nodes: dict[tuple[int, int], dict] = {}
    for k in range(len(tids)):
        mode = a["nodes_modes"][k]
        onnx_nodes[(tids[k], nids[k])] = {
            "mode": mode.decode() if isinstance(mode, bytes) else mode,
            "feature": int(a["nodes_featureids"][k]),
            "value": np.float32(a["nodes_values"][k]),
            "true": int(a["nodes_truenodeids"][k]),
            "false": int(a["nodes_falsenodeids"][k]),
            "missing_true": int(a["nodes_missing_value_tracks_true"][k]) if "nodes_missing_value_tracks_true" in a
            else 0,
        }
    weights: dict[tuple[int, int], np.float32] = {}
    for t, n, w in zip(a["class_treeids"], a["class_nodeids"], a["class_weights"]):
        key = (int(t), int(n))
        weights[key] = np.float32(weights.get(key, np.float32(0)) + np.float32(w))
    trees = doc["trees"]
    if sorted(set(tids)) != list(range(len(trees))):
        _fail(f"ONNX has trees {sorted(set(tids))[:3]}.. vs {len(trees)} in trees.json")
    checked_splits = checked_leaves = 0
    for t, tree in enumerate(trees):
        ids_t = [n for (tt, n) in onnx_nodes if tt == t]
        children = {onnx_nodes[(t, n)][c] for n in ids_t if onnx_nodes[(t, n)]["mode"] != "LEAF"
                    for c in ("true", "false")}
        roots = [n for n in ids_t if n not in children]
        if len(roots) != 1 or len(ids_t) != len(tree["nodes"]):
            _fail(f"tree {t}: {len(ids_t)} ONNX nodes / roots {roots} vs {len(tree['nodes'])} nodes")
        seen = set()
        stack = [(0, roots[0])]
        while stack:
            x, o = stack.pop()
            seen.add(x)
            nd, on = tree["nodes"][x], onnx_nodes[(t, o)]
            if "leaf" in nd:
                if on["mode"] != "LEAF" or (t, o) not in weights or weights[(t, o)] != np.float32(nd["leaf"]):
                    _fail(f"tree {t} node {x}: leaf {nd['leaf']} vs ONNX {on['mode']} {weights.get((t, o))}")
                checked_leaves += 1
            else:
                if (on["mode"] != "BRANCH_LT" or on["feature"] != nd["feature"]
                        or on["value"] != np.float32(nd["threshold"])
                        or on["missing_true"] != int(nd["missing"] == nd["yes"])):
                    _fail(f"tree {t} node {x}: split {nd} vs ONNX {on}")
                checked_splits += 1
                stack.append((nd["yes"], on["true"]))
                stack.append((nd["no"], on["false"]))
        if len(seen) != len(tree["nodes"]):
            _fail(f"tree {t}: {len(tree['nodes']) - len(seen)} nodes unreachable from the root")
    if checked_leaves != len(weights):
        _fail(f"{len(weights)} ONNX leaf weights vs {checked_leaves} leaves")
    return {"trees": len(trees), "splits": checked_splits, "leaves": checked_leaves}


def margins_f32(doc: dict, X: np.ndarray) -> np.ndarray:
    """float32 evaluation of trees.json: margin = base_margin + leaves, summed in tree order."""
    X32 = np.asarray(X, dtype=np.float32)
    rows = np.arange(len(X32))
    total = np.full(len(X32), np.float32(doc["base_margin"]), dtype=np.float32)
    for tree in doc["trees"]:
        nodes = tree["nodes"]
        n = len(nodes)
        is_leaf = np.array(["leaf" in nd for nd in nodes])
        feat = np.array([nd.get("feature", 0) for nd in nodes])
        thr = np.array([nd.get("threshold", 0.0) for nd in nodes], dtype=np.float32)
        yes = np.array([nd.get("yes", i) for i, nd in enumerate(nodes)])
        no = np.array([nd.get("no", i) for i, nd in enumerate(nodes)])
        miss = np.array([nd.get("missing", i) for i, nd in enumerate(nodes)])
        leaf = np.array([nd.get("leaf", 0.0) for nd in nodes], dtype=np.float32)
        cur = np.zeros(len(X32), dtype=np.int64)
        for _ in range(n):
            active = ~is_leaf[cur]
            if not active.any():
                break
            x = X32[rows, feat[cur]]
            nxt = np.where(np.isnan(x), miss[cur], np.where(x < thr[cur], yes[cur], no[cur]))
            cur = np.where(active, nxt, cur)
        total = (total + leaf[cur]).astype(np.float32)
    return total


def sigmoid(m: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(m, dtype=np.float64)))


# ------------------------------------------------------------------ reference TreeSHAP (float64)
def _extend(path: list, zero: float, one: float, feature: int) -> None:
    """Lundberg et al. 2018, Algorithm 2 EXTEND: add (feature, zero, one) to the path weights."""
    d = len(path)
    path.append([feature, zero, one, 1.0 if d == 0 else 0.0])
    for i in range(d - 1, -1, -1):
        path[i + 1][3] += one * path[i][3] * (i + 1) / (d + 1)
        path[i][3] = zero * path[i][3] * (d - i) / (d + 1)


def _unwind(path: list, idx: int) -> None:
    """Algorithm 2 UNWIND: remove element idx (the inverse of _extend)."""
    d = len(path) - 1
    one, zero = path[idx][2], path[idx][1]
    nxt = path[d][3]
    for i in range(d - 1, -1, -1):
        if one != 0:
            tmp = path[i][3]
            path[i][3] = nxt * (d + 1) / ((i + 1) * one)
            nxt = tmp - path[i][3] * zero * (d - i) / (d + 1)
        else:
            path[i][3] = path[i][3] * (d + 1) / (zero * (d - i))
    for i in range(idx, d):
        path[i][0], path[i][1], path[i][2] = path[i + 1][0], path[i + 1][1], path[i + 1][2]
    path.pop()


def _unwound_sum(path: list, idx: int) -> float:
    """Sum of the path weights with element idx unwound (without modifying the path)."""
    d = len(path) - 1
    one, zero = path[idx][2], path[idx][1]
    nxt = path[d][3]
    total = 0.0
    for i in range(d - 1, -1, -1):
        if one != 0:
            tmp = nxt * (d + 1) / ((i + 1) * one)
            total += tmp
            nxt = path[i][3] - tmp * zero * (d - i) / (d + 1)
        elif zero != 0:
            total += (path[i][3] / zero) / ((d - i) / (d + 1))
    return total


def tree_shap_row(doc: dict, x32: np.ndarray) -> np.ndarray:
    """Exact path-dependent TreeSHAP of one row (float64 arithmetic, float32 comparisons):
    29 contributions + the bias (base_margin + each tree's cover-weighted mean leaf)."""
    nf = len(doc["feature_names"])
    phi = np.zeros(nf + 1)
    phi[nf] = doc["base_margin"]
    for tree in doc["trees"]:
        nodes = tree["nodes"]
        mean = [0.0] * len(nodes)

        def fill(i: int) -> float:
            nd = nodes[i]
            if "leaf" in nd:
                mean[i] = nd["leaf"]
            else:
                mean[i] = (fill(nd["yes"]) * nodes[nd["yes"]]["cover"]
                           + fill(nd["no"]) * nodes[nd["no"]]["cover"]) / nd["cover"]
            return mean[i]

        phi[nf] += fill(0)

        def rec(i: int, path: list, zero: float, one: float, feature: int) -> None:
            path = [list(e) for e in path]
            _extend(path, zero, one, feature)
            nd = nodes[i]
            if "leaf" in nd:
                for k in range(1, len(path)):
                    w = _unwound_sum(path, k)
                    phi[path[k][0]] += w * (path[k][2] - path[k][1]) * nd["leaf"]
                return
            v = x32[nd["feature"]]
            hot = nd["missing"] if np.isnan(v) else (nd["yes"] if v < np.float32(nd["threshold"]) else nd["no"])
            cold = nd["no"] if hot == nd["yes"] else nd["yes"]
            inc_zero, inc_one = 1.0, 1.0
            for k in range(len(path)):
                if path[k][0] == nd["feature"]:
                    inc_zero, inc_one = path[k][1], path[k][2]
                    _unwind(path, k)
                    break
            rec(hot, path, nodes[hot]["cover"] / nd["cover"] * inc_zero, inc_one, nd["feature"])
            rec(cold, path, nodes[cold]["cover"] / nd["cover"] * inc_zero, 0.0, nd["feature"])

        rec(0, [], 1.0, 1.0, -1)
    return phi


# ------------------------------------------------------------------------------------ importance
def importance(booster, feature_names: list[str]) -> dict:
    gain = booster.get_score(importance_type="total_gain")
    g = np.array([float(gain.get(f"f{i}", 0.0)) for i in range(len(feature_names))])
    # cross-check: total gain = sum of the split gains of each feature in the dump
    dump_gain = np.zeros(len(feature_names))
    for text in booster.get_dump(dump_format="json", with_stats=True):
        stack = [json.loads(text)]
        while stack:
            n = stack.pop()
            if "leaf" not in n:
                dump_gain[int(n["split"][1:])] += float(n["gain"])
                stack.extend(n["children"])
    if not np.allclose(g, dump_gain, rtol=1e-5, atol=0):
        _fail("total_gain from get_score differs from the summed dump gains")
    share = g / g.sum()
    order = sorted(range(len(feature_names)), key=lambda i: (-share[i], i))
    chosen: list[str] = []
    cum = 0.0
    for i in order:
        if cum >= IMPORTANCE_CUMULATIVE_SHARE or len(chosen) >= IMPORTANCE_MAX_FEATURES:
            break
        chosen.append(feature_names[i])
        cum += float(share[i])
    if IMPORTANCE_ALWAYS not in chosen:
        chosen.append(IMPORTANCE_ALWAYS)
    return {
        "type": "total_gain",
        "values": {feature_names[i]: float(share[i]) for i in range(len(feature_names))},
        "important_features": chosen,
        "rule": IMPORTANCE_RULE,
    }
