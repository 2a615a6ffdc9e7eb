"""The Spark session: start one for a master URL, fail fast on an unreachable one, one-line errors."""

from __future__ import annotations

import os
import socket
import sys
import warnings
from typing import Any
from urllib.parse import urlparse

from pipeline.errors import ConfigError, InputError

__all__ = ["SPARK_HINT", "probe_master", "spark_error", "start_session"]


SPARK_HINT = "pip install pyspark (Spark 4 needs a Java 17+ runtime)"


def probe_master(master: str) -> None:
    """Fail in seconds, with one line, when a standalone or Kubernetes master does not answer."""
    if master.startswith("spark://"):
        hosts = [h.strip() for h in master[len("spark://") :].split(",") if h.strip()]
        default_port = 7077
    elif master.startswith("k8s://"):
        parsed = urlparse(master[len("k8s://") :])
        hosts = [f"{parsed.hostname}:{parsed.port or 443}"] if parsed.hostname else []
        default_port = 443
    else:
        return
    errors = []
    for hostport in hosts:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", str(default_port))
        try:
            with socket.create_connection((host, int(port)), timeout=5):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{hostport}: {exc}")
    raise ConfigError(
        f"Spark master {master!r} cannot be reached ({'; '.join(errors) or 'no host in the URL'}); "
        "check the URL and the network, or run with --master 'local[*]'."
    )


def start_session(master: str = "local[*]", *, driver_memory: str = "2g", app_name: str = "feedback-insights") -> Any:
    """A Spark session for ``master`` (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(f"--engine spark needs pyspark: {SPARK_HINT}.") from None
    probe_master(master)
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", driver_memory)
    )
    if master.startswith("local"):
        # Workers run this very interpreter (its packages and offline models); on a cluster the
        # packed environment's interpreter is named with PYSPARK_PYTHON (see docs/spark.md).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # pyspark warns on every worker that pandas 3 is newer than it knows; the workers inherit this.
        os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
        builder = builder.config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"Spark could not start with master {master!r}: {first[:300]}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_error(exc: Exception, what: str) -> InputError:
    """One line out of a JVM error: its first line, no stack trace."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{what}: {text[:400]}")
