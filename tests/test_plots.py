"""numbarl plot / summarise over a results folder."""

import numpy as np
import pandas as pd
import pytest

from numbarl.cli import main
from numbarl.plots import curves, load_runs, plot, summarise_runs
from numbarl.results import read_results, summarise, write_csv
from numbarl.sweep import sweep


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    sweep(
        "q_learning",
        "CliffWalking-v1",
        range(3),
        out,
        {"alpha": [0.1, 0.5]},
        workers=1,
        episodes=40,
    )
    return out


def test_plot_writes_a_png(runs, tmp_path, capsys):
    fig = tmp_path / "fig.png"
    assert (
        main(
            [
                "plot",
                str(runs),
                "--y",
                "return",
                "--by",
                "alpha",
                "--smooth",
                "5",
                "--out",
                str(fig),
            ]
        )
        == 0
    )
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig.stat().st_size > 10_000
    assert f"wrote {fig}" in capsys.readouterr().out
    assert plot(runs, by="alpha", out=tmp_path / "sub" / "f.png").exists()


def test_curves_band_brackets_the_mean_over_runs(runs):
    table = curves(load_runs(runs), "return", "episode", "alpha")
    assert len(table) == 2 * 40 and (table["n"] == 3).all()
    assert (table["ci_low"] <= table["mean"] + 1e-9).all()
    assert (table["mean"] <= table["ci_high"] + 1e-9).all()
    df = read_results(sorted(runs.glob("*.csv")))
    first = df[(df["alpha"] == 0.5) & (df["episode"] == 0)]["return"].mean()
    row = table[(table["alpha"] == 0.5) & (table["episode"] == 0)].iloc[0]
    assert row["mean"] == pytest.approx(first)


def test_a_run_that_stopped_early_keeps_its_last_value():
    df = pd.DataFrame(
        {
            "seed": [0, 0, 0, 1, 1],
            "step": [1, 2, 3, 1, 2],  # run 1 stopped (solved) after step 2
            "eval_return": [1.0, 2.0, 3.0, 5.0, 7.0],
        }
    )
    table = curves(df)
    np.testing.assert_allclose(table["mean"], [3.0, 4.5, 5.0])
    assert (table["n"] == 2).all()
    assert table["ci_low"].iloc[2] == 3.0 and table["ci_high"].iloc[2] == 7.0


def test_summarise_matches_results_summarise(runs, tmp_path, capsys):
    out = tmp_path / "table.csv"
    args = ["summarise", str(runs), "--y", "return", "--by", "alpha", "--last", "10"]
    assert main([*args, "--out", str(out)]) == 0
    assert "iqm" in capsys.readouterr().out
    df = read_results(sorted(runs.glob("*.csv")), source=True)
    last = df.groupby("source").tail(10)
    expected = summarise(last, by="alpha", value="return", over="source")
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)
    pd.testing.assert_frame_equal(summarise_runs(runs, "return", "alpha", 10), expected)


def test_bad_results_folders(runs, tmp_path, capsys):
    assert main(["summarise", str(tmp_path)]) == 2
    assert "holds no CSV file" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    mixed = tmp_path / "mixed"
    for f in sorted(runs.glob("*alpha-0.1*.csv")):
        write_csv(pd.read_csv(f), mixed / f.name)
    other = pd.read_csv(f).assign(algorithm="sarsa")
    write_csv(other, mixed / "sarsa.csv")
    assert main(["summarise", str(mixed), "--y", "return"]) == 2
    assert (
        "mix algorithms (q_learning, sarsa); group them with --by algorithm"
        in capsys.readouterr().err
    )
    assert main(["summarise", str(mixed), "--y", "return", "--by", "algorithm"]) == 0
    assert main(["plot", str(mixed), "--y", "score"]) == 2
    assert "no column 'score'" in capsys.readouterr().err
    bare = tmp_path / "bare"  # neither step nor episode: the x column must be named
    write_csv(other.drop(columns=["episode"]), bare / "run.csv")
    assert main(["plot", str(bare), "--y", "return"]) == 2
    assert "no step or episode column; name one with --x (numeric: " in capsys.readouterr().err
