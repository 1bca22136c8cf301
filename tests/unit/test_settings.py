from pathlib import Path

import pytest

from scorer.settings import Settings, SettingsError, settings_table
from scorer.tools import settings_environment

README = Path(__file__).resolve().parents[2] / "README.md"


def test_environment_then_overrides():
    s = Settings.from_env({"SCORER_PARTITIONS": "3", "SCORER_CONVERSION_WINDOW_S": "60"}, partitions=5, broker=None)
    assert (s.partitions, s.conversion_window_s, s.broker) == (5, 60.0, "127.0.0.1:9092")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SCORER_PARTITIONS": "eight"}, "SCORER_PARTITIONS='eight' is not a valid int"),
        ({"SCORER_PARTITIONS": "0"}, "at least 1"),
        ({"SCORER_STORE": "redis"}, "SCORER_STORE"),
        ({"SCORER_WEB_PORT": "70000"}, "SCORER_WEB_PORT"),
        ({"SCORER_RECO_WEIGHTS": "magic=1"}, "unknown components"),
        ({"SCORER_RECO_WEIGHTS": "knn=lots"}, "must look like"),
        ({"SCORER_RECO_TRIGGERS": "product_view,teleport"}, "teleport"),
        ({"SCORER_RECO_EXCLUDE_CART": "maybe"}, "not a boolean"),
        ({"SCORER_SEGMENT_MIN_DWELL_DAYS": "-1"}, "SCORER_SEGMENT_MIN_DWELL_DAYS"),
    ],
)
def test_bad_values_get_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_child_process_environment_reproduces_the_settings():
    s = Settings(partitions=3, web_port=7000, conversion_window_s=12.5)
    assert Settings.from_env(settings_environment(s)) == s


def test_readme_settings_table_is_current():
    assert settings_table() in README.read_text(), "regenerate with: python -c 'from scorer.settings import settings_table; print(settings_table())'"


def test_security_settings_reach_both_kafka_client_stacks():
    from scorer.kafka import faust_credentials

    plain = Settings()
    assert plain.kafka_config()["security.protocol"] == "PLAINTEXT" and "sasl.username" not in plain.kafka_config()
    assert faust_credentials(plain) is None

    scram = Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", sasl_username="scorer", sasl_password="pw")
    config = scram.kafka_config()
    assert (config["sasl.mechanism"], config["sasl.username"], config["sasl.password"]) == ("SCRAM-SHA-512", "scorer", "pw")
    credentials = faust_credentials(scram)
    assert credentials.mechanism.value == "SCRAM-SHA-512" and credentials.username == "scorer"
    assert credentials.protocol.value == "SASL_PLAINTEXT"

    tls = Settings(security_protocol="SASL_SSL", sasl_username="u", sasl_password="p")
    assert faust_credentials(tls).protocol.value == "SASL_SSL"
    assert Settings(security_protocol="SSL", ssl_cafile="/ca.pem").kafka_config()["ssl.ca.location"] == "/ca.pem"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SCORER_SECURITY_PROTOCOL": "TLS"}, "SCORER_SECURITY_PROTOCOL"),
        ({"SCORER_SASL_MECHANISM": "GSSAPI"}, "SCORER_SASL_MECHANISM"),
        ({"SCORER_TRAINING": "both"}, "SCORER_TRAINING"),
    ],
)
def test_security_and_training_settings_are_checked(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
