from pathlib import Path

import orjson
import pytest

from scorer.datasets import DatasetError, detect_format, read_events
from scorer.events import decode_purchase

CDNOW = Path(__file__).parents[3].parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


def test_cdnow_rows_become_purchases_of_the_contract(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" customer_id  date number_of_cds  dollar_value\n 00002 19970112  2   12.00\n 00001 19970101  1   11.77\n")
    assert detect_format(path) == "cdnow"
    events = read_events([path])
    assert [kind for kind, _ in events] == ["purchase", "purchase"]
    first, second = (doc for _, doc in events)
    assert first["user_id"] == "00001" and first["ts"] == 852076800000  # 1997-01-01 UTC
    event = decode_purchase(orjson.dumps(second))
    assert event.items[0].quantity == 2 and event.items[0].price == pytest.approx(6.0)


def test_a_broken_cdnow_row_names_its_line(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" customer_id  date number_of_cds  dollar_value\n 00001 1997-01-01  1   11.77\n")
    with pytest.raises(DatasetError, match=":2: not a CDNOW row"):
        read_events([path])


@pytest.mark.skipif(not CDNOW.exists(), reason="shared CDNOW sample not present")
def test_the_shared_cdnow_sample_reads_whole():
    events = read_events([CDNOW])
    assert len(events) == 69_659
    assert len({doc["user_id"] for _, doc in events}) == 23_570


def test_the_papers_one_tenth_sample_layout_reads_without_a_header(tmp_path):
    # CDNOW_sample.txt: master id, id within the sample, date, units, dollars; no header line.
    path = tmp_path / "CDNOW_sample.txt"
    path.write_text(" 00004 0001 19970101  2   29.33\r\n 00004 0001 19970118  2   29.73\r\n 00018 0002 19970101  2   29.73\r\n")
    assert detect_format(path) == "cdnow"
    events = read_events([path])
    assert [doc["user_id"] for _, doc in events] == ["00004", "00018", "00004"]
    assert events[2][1]["ts"] == 852076800000 + 17 * 86_400_000
    assert decode_purchase(orjson.dumps(events[0][1])).items[0].price == pytest.approx(14.665)
