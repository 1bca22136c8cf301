"""The commands around the worker: the embedded broker, supervision, sending, demo, tail, evaluation.

``broker`` runs the embedded Kafka-protocol broker (the demo's), ``apache_kafka`` a pinned
real Apache Kafka from Maven Central (the tests'); ``supervise`` starts and stops worker
processes and ``lifetime`` makes every child die with its parent; ``send`` produces events keyed by user; ``demo`` puts broker, worker and
traffic together; ``tail`` shows the score topics live; ``evaluate`` replays files
offline through the worker's engine, ``segment_tables`` prints its segment report, and
``plots`` draws its charts.
"""

from scorer._faces import lazy_face

# Imported on first use: the CLI imports only what the command it runs needs (``plots`` pulls in matplotlib, ``tail`` rich).
_EXPORTS = {
    "BrokerError": "broker",
    "EmbeddedBroker": "broker",
    "free_port": "broker",
    "wait_for_port": "broker",
    "health": "supervise",
    "settings_environment": "supervise",
    "start_worker": "supervise",
    "stop_process": "supervise",
    "wait_until_assigned": "supervise",
    "WorkerStartError": "supervise",
    "SendInterrupted": "send",
    "send_events": "send",
    "Interrupted": "lifetime",
    "die_with_parent": "lifetime",
    "stop_on_signals": "lifetime",
    "run_demo": "demo",
    "ScoreBoard": "tail",
    "score_consumer": "tail",
    "tail": "tail",
    "tail_json": "tail",
    "count_rule": "evaluate",
    "evaluate_files": "evaluate",
    "print_segments": "segment_tables",
    "write_plots": "plots",
    "DEFAULT_WEEKS": "clv_report",
    "calibration_day": "clv_report",
    "clv_section": "clv_report",
    "print_clv": "clv_report",
    "evaluate_offers": "offers_report",
    "offers_sidecar": "offers_report",
    "print_offers": "offers_report",
    "ApacheKafka": "apache_kafka",
    "KafkaInstallError": "apache_kafka",
    "KafkaStartError": "apache_kafka",
    "Listener": "apache_kafka",
    "generate_tls_material": "apache_kafka",
    "install_kafka": "apache_kafka",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, globals(), _EXPORTS)
