"""What the SdA comparison's runs come to (:mod:`sdae.experiments.sda`): one summary per
model over the seeds, and results.md. Apart from the training, so that a report can be
written again from a results.json alone."""

from __future__ import annotations

import statistics

import numpy as np

# Published test errors (%), for the table beside the measured ones.
PUBLISHED = {
    "mnist": [
        ("SVM-rbf", 1.40, "Vincent et al. 2010, table 3"),
        ("SAE-3", 1.40, "Vincent et al. 2010, table 3"),
        ("DBN-3", 1.24, "Vincent et al. 2010, table 3"),
        ("SdA-3", 1.28, "Vincent et al. 2010, table 3"),
        ("SdA (3 layers)", 1.3, "deeplearning.net Theano tutorial"),
    ],
}


def summarise(runs: list[dict]) -> list[dict]:
    """One entry per model: the mean (and spread over seeds) of each measured number."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["name"], r["n_labels"]), []).append(r)
    summary = []
    for (name, n_labels), rs in sorted(groups.items(), key=lambda kv: kv[0][1]):
        entry = {"name": name, "n_labels": n_labels, "noise_levels": rs[0]["noise_levels"],
                 "n_runs": len(rs)}
        for key in ("valid_error", "test_error", "pretrain_seconds", "unsupervised_seconds",
                    "finetune_seconds"):
            values = [r[key] for r in rs]
            entry[key] = statistics.fmean(values)
            if len(values) > 1:
                entry[f"{key}_std"] = statistics.stdev(values)
        if "layer_probe_test_error" in rs[0]:
            entry["layer_probe_test_error"] = np.mean(
                [r["layer_probe_test_error"] for r in rs], axis=0).tolist()
        summary.append(entry)
    return summary


def markdown_table(results: dict, dataset: str) -> str:
    """results.md: the measured errors and times per model, the published ones beside them
    when the whole training set was labelled, and the layer probes."""
    n_all = results["n_train"]
    lines = [f"# {results['experiment']}: {results['dataset']}", "",
             f"Seeds {results['seeds']}; mean ± standard deviation over seeds where there are "
             "several. Pre-training always uses every training image: greedy layer-wise, "
             "then, if asked for, the whole deep autoencoder on reconstruction (deep AE; "
             "0 s when not).", "",
             "| model | labels | valid error | test error | pre-training s | deep AE s "
             "| fine-tuning s |",
             "|---|---|---|---|---|---|---|"]
    for m in results["models"]:
        def pct(key, m=m):
            spread = f" ± {m[key + '_std']:.2%}" if key + "_std" in m else ""
            return f"{m[key]:.2%}{spread}"

        lines.append(f"| {m['name']} | {m['n_labels']} | {pct('valid_error')} | "
                     f"{pct('test_error')} | "
                     f"{m['pretrain_seconds']:.0f} | {m['unsupervised_seconds']:.0f} | "
                     f"{m['finetune_seconds']:.0f} |")
    published = PUBLISHED.get(dataset)
    if published and n_all in {m["n_labels"] for m in results["models"]}:
        lines += ["", "Published test errors on the same split, for the papers' models of three "
                  "1000-unit layers (not measured here):", "",
                  "| model | test error | source |", "|---|---|---|"]
        lines += [f"| {name} | {err:.2f}% | {src} |" for name, err, src in published]
    probes = list({m["name"]: m for m in results["models"]      # one row per model
                   if "layer_probe_test_error" in m}.values())
    if probes:
        lines += ["", "Linear probe (logistic regression) on each layer's code after "
                  "pre-training, test error:", "",
                  "| model | " + " | ".join(f"layer {k + 1}" for k in
                                          range(len(probes[0]["layer_probe_test_error"]))) + " |",
                  "|---|" + "---|" * len(probes[0]["layer_probe_test_error"])]
        lines += [f"| {m['name']} | " + " | ".join(f"{e:.2%}" for e in
                                                  m["layer_probe_test_error"]) + " |"
                  for m in probes]
    lines += ["", f"Total time {results['seconds']:.0f} s on "
              f"{results['machine']['cpu_count']} CPU cores ({results['machine']['device']}).", ""]
    return "\n".join(lines)
