"""Settings of `transform`: defaults < config file < explicit flags, and the table that shows them.

Explicit flags are told apart from defaults by parsing with ``argparse.SUPPRESS`` defaults: an
option the user did not type is absent from the namespace, so typing the default value (e.g.
``--batch-size 128``) still overrides the config file, as a user would expect.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from core.checkpoint import infer_load_type
from core.config import ACCELERATORS, LOAD_TYPES, LOG_LEVELS, TASKS
from core.errors import ConfigError

logger = logging.getLogger(__name__)

TASK_NAMES = {"cls": "classification", "classification": "classification", "tran": "translation",
              "translation": "translation", "lm": "language_modeling", "language_modeling": "language_modeling"}

# name -> (default, help). Names are MASE's dest names, which are also the config keys.
DEFAULTS: dict[str, Any] = {
    "model": None,
    "dataset": None,
    "task": "classification",
    "load_name": None,
    "load_type": None,
    "batch_size": 128,
    "num_workers": os.cpu_count() or 1,
    "accelerator": "auto",
    "seed": 0,
    "project_dir": "mase_output",
    "project": None,
    # MASE logs its progress at info; here progress goes to stdout, so the log shows warnings
    "log_level": "warning",
    "to_debug": False,
    "dataset_path": None,
    "trust_checkpoint": False,
    "tracer": "auto",
    "device": None,
    "seq_len": None,
    "train_graph": False,
}
# What an unset default means, for the table.
DEFAULT_NOTES = {"device": "(model's)", "seq_len": "(model's)", "dataset": "(model's)", "load_type": "(from path)", "project": "(generated)"}


def add_transform_options(p: argparse.ArgumentParser) -> None:
    S = argparse.SUPPRESS
    p.add_argument("model", nargs="?", default=S, help="model name (or set model in the config)")
    p.add_argument("dataset", nargs="?", default=S, help="dataset name (or set dataset in the config)")
    p.add_argument("--config", default=S, metavar="PATH", help="MASE TOML config with [passes.*] tables (required)")
    p.add_argument("--task", choices=TASKS, default=S, help="task (default classification)")
    p.add_argument("--load", dest="load_name", default=S, metavar="PATH", help="checkpoint to load")
    p.add_argument("--load-type", dest="load_type", choices=LOAD_TYPES, default=S,
                   help="pt: state dict, pl: Lightning checkpoint, mz: saved MaseGraph (default: from the path)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=S, metavar="N", help="batch size (default 128)")
    p.add_argument("--cpu", "--num-workers", dest="num_workers", type=int, default=S, metavar="N",
                   help="MASE's DataLoader worker count (--cpu=0 means no workers, not 'use the CPU'); "
                        "accepted, but the data here is in memory and no worker processes are started")
    p.add_argument("--accelerator", choices=ACCELERATORS, default=S,
                   help="device; gpu without CUDA falls back to the CPU with a warning (default auto)")
    p.add_argument("--seed", type=int, default=S, help="random seed (default 0)")
    p.add_argument("--project-dir", dest="project_dir", default=S, metavar="DIR",
                   help="output root (default ./mase_output)")
    p.add_argument("--project", default=S, metavar="NAME",
                   help="project name (default {model}_{task}_{dataset}_{YYYY-MM-DD})")
    p.add_argument("--log-level", dest="log_level", choices=LOG_LEVELS, default=S, help="logging level (default warning; info adds the passes' log lines, as MASE prints them)")
    p.add_argument("--debug", dest="to_debug", action="store_true", default=S, help="show tracebacks on errors")
    p.add_argument("--dataset-path", dest="dataset_path", default=S, metavar="PATH",
                   help="real data file (e.g. the JSC HDF5/ARFF/CSV)")
    p.add_argument("--trust-checkpoint", dest="trust_checkpoint", action="store_true", default=S,
                   help="allow checkpoints that unpickle code (only for files you trust)")
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false", default=S,
                   help="random init instead of the shipped weights of jsc-tiny / jsc-toy (MASE's behaviour)")
    from mase_tui.commands.common import add_capture_options, add_trace_options

    add_capture_options(p, default=S)
    add_trace_options(p, default=S)
    p.add_argument("--eval-batches", dest="eval_batches", type=int, default=S, metavar="N",
                   help="evaluate accuracy on at most N test batches (default: the whole test split)")
    p.add_argument("--no-eval", dest="evaluate", action="store_false", default=S,
                   help="skip the accuracy before/after")


@dataclass
class Settings:
    values: dict[str, Any]
    config: dict[str, Any]
    explicit: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Name | Default | Config | Override | Effective, one row per setting."""
        rows = []
        for name, default in DEFAULTS.items():
            shown_default = DEFAULT_NOTES.get(name, "") if default is None else _fmt(default)
            rows.append((name, shown_default, _fmt(self.config.get(name, "")), _fmt(self.explicit.get(name, "")),
                         _fmt(self.values[name])))
        return rows


def _fmt(value: Any) -> str:
    if value == "":
        return ""
    if value is None:
        return "-"
    return str(value)


def explicit_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Options the user typed: SUPPRESS keeps the others out of the namespace. The top-level
    parser's own --log-level/--debug (``mase-tui --debug transform ...``) leave None/False when
    not typed, which no typed option can produce."""
    given = {k: v for k, v in vars(args).items() if k in DEFAULTS and v is not None}
    if getattr(args, "debug", False):
        given["to_debug"] = True
    return given


def merge_settings(config_settings: dict[str, Any], explicit: dict[str, Any], *, today: _dt.date | None = None) -> Settings:
    config_used = {k: v for k, v in config_settings.items() if k in DEFAULTS}
    values = {**DEFAULTS, **config_used, **explicit}
    notes: list[str] = []
    if not values["model"]:
        raise ConfigError("no model given", hint="name one (`ch transform jsc-tiny --config ...`) or set model in the config")
    values["task"] = TASK_NAMES[values["task"]]
    if values["task"] != "classification":
        raise ConfigError(f"task '{values['task']}' is not supported", hint="the zoo models are classifiers; use --task cls")
    if values["batch_size"] < 1:
        raise ConfigError(f"batch size must be at least 1, got {values['batch_size']}")
    if values["num_workers"] < 0:
        raise ConfigError(f"--cpu/--num-workers must be 0 or more, got {values['num_workers']}")
    if values["dataset"] is None:
        values["dataset"] = _model_dataset(values["model"])
    if ("project" not in explicit and config_used.get("project") is not None
            and config_used["project"] == config_used.get("model") and values["model"] != config_used["model"]):
        # MASE's lab config names its project after its model (project = model = "jsc-tiny");
        # run with another model, its output must not land in (and replace) that model's project
        notes.append(f"project '{config_used['project']}' in the config is named after its model "
                     f"'{config_used['model']}'; this run's model is '{values['model']}': project "
                     f"'{values['model']}' (give --project to choose)")
        values["project"] = str(values["model"]).replace("/", "-")
    if values["project"] is None:
        day = (today or _dt.date.today()).isoformat()
        model = str(values["model"]).replace("/", "-")
        values["project"] = f"{model}_{values['task']}_{values['dataset']}_{day}"
    if values["load_name"] and values["load_type"] is None:
        values["load_type"] = infer_load_type(values["load_name"])
    if values["load_type"] and not values["load_name"]:
        notes.append(f"load_type '{values['load_type']}' given without a checkpoint (--load): ignored")
        values["load_type"] = None
    return Settings(values=values, config=config_used, explicit=dict(explicit), notes=notes)


def _model_dataset(model: str) -> str | None:
    from core.models import get_model_spec, is_user_model_ref

    if is_user_model_ref(model):
        raise ConfigError(f"no dataset for user model {model}", hint="give it after the model or set dataset in the config")
    return get_model_spec(model).dataset


def resolve_device(accelerator: str) -> str:
    """MASE maps gpu to cuda:0 unconditionally; transforms here run on the CPU, and a request for
    a GPU is answered with a warning instead of a crash (the lab config says accelerator = "gpu")."""
    if accelerator in ("gpu", "mps"):
        import torch

        backend = torch.cuda if accelerator == "gpu" else getattr(torch.backends, "mps", None)
        available = bool(backend is not None and backend.is_available())
        reason = "transform runs on the CPU in this build" if available else f"no {accelerator.upper()} is available"
        logger.warning("accelerator '%s' requested but %s: running on the CPU", accelerator, reason)
    return "cpu"
