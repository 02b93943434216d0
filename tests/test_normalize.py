import pytest

from agentgym.domains.sgd.values import canonical, parse_date, parse_time, value_key


@pytest.mark.parametrize("text,iso", [
    ("today", "2019-03-01"), ("tomorrow", "2019-03-02"), ("day after tomorrow", "2019-03-03"),
    ("March 3rd", "2019-03-03"), ("the 3rd of March", "2019-03-03"), ("2019-03-12", "2019-03-12"),
    ("next Monday", "2019-03-04"), ("3/5", "2019-03-05"),
])
def test_dates(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize("text,hhmm", [
    ("7 pm", "19:00"), ("7:30 pm", "19:30"), ("19:30", "19:30"), ("morning 11:15", "11:15"),
    ("half past 4 in the afternoon", "16:30"), ("quarter to 12", "11:45"), ("noon", "12:00"), ("seven pm", "19:00"),
])
def test_times(text, hhmm):
    assert parse_time(text) == hhmm


def test_numbers_bools_and_categoricals():
    assert canonical("number", "two") == "2" and canonical("number", 3) == "3" and canonical("number", "4 people") == "4"
    assert canonical("bool", "yes") == "True" and canonical("bool", False) == "False"
    assert canonical("categorical", "italian", ("Italian", "Thai")) == "Italian"
    assert canonical("categorical", "Klingon", ("Italian", "Thai")) is None
    assert value_key("text", "  San   Jose ") == value_key("text", "san jose")
