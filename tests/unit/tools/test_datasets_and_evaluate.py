import math
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from scorer.datasets import DatasetError, detect_format, read_events
from scorer.propensity import average_precision, brier, expected_calibration_error, log_loss, roc_auc
from scorer.cli import cli

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
REES46 = SHARED / "rees46-2019-10-first17k.csv"


@pytest.fixture
def rees46_head(tmp_path: Path) -> Path:
    path = tmp_path / "rees46-head.csv"
    path.write_text(
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
        "2019-10-01 00:00:05 UTC,cart,1,10,electronics.phone,acme,5.00,u1,s1\n"
        "2019-10-01 00:00:00 UTC,view,1,10,electronics.phone,acme,5.00,u1,s1\n"
        "2019-10-01 00:01:00 UTC,purchase,1,10,,,5.00,u1,s1\n"
        "2019-10-01 00:02:00 UTC,view,2,11,,,7.50,u2,s2\n"
    )
    return path


def test_rees46_rows_map_to_the_contract_in_time_order(rees46_head):
    events = read_events([rees46_head])
    assert [(kind, e.get("type")) for kind, e in events] == [
        ("click", "product_view"), ("click", "add_to_cart"), ("purchase", None), ("click", "product_view")
    ]
    assert events[0][1]["ts"] == 1_569_888_000_000 and events[0][1]["category"] == "electronics.phone"
    assert events[2][1]["items"] == [{"item_id": "1", "category": "10", "price": 5.0}]
    assert events[3][1]["category"] == "11" and "brand" not in events[3][1]


def test_session_tsv_uses_the_session_as_user(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("SessionId\tItemId\tTime\n7\t100\t1396314141.5\n7\t101\t1396314100.0\n")
    assert detect_format(path) == "sessions"
    events = [e for _, e in read_events([path])]
    assert [(e["user_id"], e["session_id"], e["item_id"], e["ts"]) for e in events] == [
        ("7", "7", "101", 1_396_314_100_000), ("7", "7", "100", 1_396_314_141_500)
    ]


def test_jsonl_and_bad_input(tmp_path):
    good = tmp_path / "e.jsonl"
    good.write_bytes(b'{"event_id":"a","user_id":"u","ts":2,"type":"search"}\n\n{"event_id":"b","user_id":"u","ts":1,"order_id":"o","items":[]}\n')
    assert [(k, e["event_id"]) for k, e in read_events([good])] == [("purchase", "b"), ("click", "a")]
    bad = tmp_path / "x.txt"
    bad.write_text("hello\n")
    with pytest.raises(DatasetError, match="--format"):
        read_events([bad])


def test_metrics_against_independent_computation():
    labels = [True, False, False, True, False, True]
    scores = [0.8, 0.3, 0.8, 0.6, 0.1, 0.2]
    # Pairs: positives {0.8, 0.6, 0.2} vs negatives {0.3, 0.8, 0.1}: wins 2+0.5, 2, 1 -> 5.5/9.
    assert roc_auc(labels, scores) == pytest.approx(5.5 / 9)
    expected_ll = -(math.log(0.8) + math.log(0.7) + math.log(0.2) + math.log(0.6) + math.log(0.9) + math.log(0.2)) / 6
    assert log_loss(labels, scores) == pytest.approx(expected_ll)
    assert brier(labels, scores) == pytest.approx((0.04 + 0.09 + 0.64 + 0.16 + 0.01 + 0.64) / 6)
    # Ranked: 0.8(T), 0.8(F), 0.6(T), 0.3(F), 0.2(T), 0.1(F): precisions at positives 1, 2/3, 3/5.
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # Bins: [0.8,0.8] rate .5; [0.6] 1; [0.3] 0; [0.2] 1; [0.1] 0.
    assert expected_calibration_error(labels, scores) == pytest.approx((2 * 0.3 + 0.4 + 0.3 + 0.8 + 0.1) / 6)


def test_evaluate_command_prints_the_documented_keys(rees46_head, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", str(rees46_head), "--json", "--plots", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.output)
    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate", "examples"):
        assert key in doc["propensity"]
    assert doc["propensity"]["examples"] == 3 and doc["events"] == 4 and doc["events_per_second"] > 0
    assert sorted(Path(p).name for p in doc["plots"]) == ["calibration.png", "gains.png", "metrics_over_time.png", "roc.png", "score_histogram.png"]
    assert all(Path(p).stat().st_size > 5_000 for p in doc["plots"])


def test_eval_from_file_counts_only_later_files(rees46_head, tmp_path):
    later = tmp_path / "later.csv"
    lines = rees46_head.read_text().splitlines()
    later.write_text("\n".join([lines[0]] + [line.replace("00:0", "01:0", 1) for line in lines[1:]]) + "\n")
    both = CliRunner().invoke(cli, ["evaluate", str(rees46_head), str(later), "--json"])
    second = CliRunner().invoke(cli, ["evaluate", str(rees46_head), str(later), "--eval-from-file", "2", "--json"])
    assert orjson.loads(both.output)["propensity"]["examples"] == 6
    assert orjson.loads(second.output)["propensity"]["examples"] == 3


@pytest.mark.skipif(not REES46.exists(), reason="shared data not present")
def test_evaluate_on_the_real_rees46_sample():
    result = CliRunner().invoke(cli, ["evaluate", str(REES46), "--json"])
    doc = orjson.loads(result.output)
    assert doc["events"] == 17_434 and doc["propensity"]["examples"] == 17_220
    assert 0.04 < doc["propensity"]["base_rate"] < 0.06
