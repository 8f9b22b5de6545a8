"""`mifusion metrics` on good and bad CSV files, through mifusion.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.metrics import compute_metrics


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_metrics_table_and_json(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.round(rng.uniform(-3, 3, 40), 1)
    preds = labels + rng.normal(0, 0.8, 40)
    rows = "\n".join(f"s{i},{float(p)!r},{float(t)!r}" for i, (p, t) in enumerate(zip(preds, labels)))
    path = _write(tmp_path / "p.csv", "id,prediction,label\n" + rows + "\n")
    assert main(["metrics", path]) == 0
    out = capsys.readouterr().out
    assert "Acc-2 has0/non0" in out and "40 samples" in out
    assert main(["metrics", path, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    expected = compute_metrics(preds, labels)
    assert got["n"] == 40
    assert {k: got[k] for k in expected} == pytest.approx(expected)


def test_metrics_sims_kind(tmp_path, capsys):
    path = _write(tmp_path / "p.csv", "id,prediction,label\na,0.5,0.4\nb,-0.3,-0.6\nc,-0.05,0.2\n")
    assert main(["metrics", path, "--kind", "sims", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["sims_acc2"] == pytest.approx(100 * 2 / 3)


def test_constant_predictions_print_nan_and_explain(tmp_path, capsys):
    path = _write(tmp_path / "p.csv", "id,prediction,label\na,1,0.4\nb,1,-0.6\n")
    assert main(["metrics", path]) == 0
    out = capsys.readouterr().out
    assert "NaN" in out and "undefined: corr" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("id,pred,label\na,1,2\n", "row 1 (header) lacks column(s) prediction"),
        ("id,prediction,label\na,1,2\nb,oops,1\n", "row 3, column 'prediction' is 'oops'"),
        ("id,prediction,label\na,1,nan\n", "row 2, column 'label'"),
        ("id,prediction,label\na,1\n", "row 2, column 'label' is None"),
        ("id,prediction,label\n", "no data rows"),
    ],
)
def test_bad_csv_is_one_line_error_exit_2(tmp_path, capsys, content, needle):
    path = _write(tmp_path / "bad.csv", content)
    assert main(["metrics", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv" in err and needle in err


def test_missing_file_exit_2(tmp_path, capsys):
    assert main(["metrics", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["metrics", "--help"])
    assert "examples:" in capsys.readouterr().out
