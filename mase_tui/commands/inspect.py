"""`mase-tui inspect MODEL` (and bare `mase-tui`): open the app."""

from __future__ import annotations

import argparse

from mase_tui.commands.common import add_model_options

DEFAULT_MODEL = "jsc-toy"


def register(sub) -> None:
    p = sub.add_parser("inspect", help="open the inspector app on a model (the default with no command)")
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL, help="zoo model, file.py:factory, or a saved graph directory")
    add_model_options(p, model_required=False)
    p.add_argument("--config", default=None, help="TOML config whose passes are offered in the Passes tab")
    p.add_argument("--no-tuning", action="store_true", default=argparse.SUPPRESS,
                   help="keep Python's GIL switch interval and GC settings (also MASE_TUI_NO_TUNING=1)")
    p.set_defaults(func=run)


def run(args) -> int:
    if getattr(args, "config", None):  # its pass tables, before torch and before the app opens
        from core.config import load_config
        from mase_tui.commands.preflight import check_passes

        check_passes(load_config(args.config).passes, args.config)
    from mase_tui.app import MaseTuiApp

    app = MaseTuiApp.from_args(args)
    app.run()
    return app.return_code or 0


def run_default(args) -> int:
    ns = argparse.Namespace(
        model=DEFAULT_MODEL, load_name=None, load_type=None, trust_checkpoint=False, dataset=None,
        dataset_path=None, batch_size=None, seed=None, pretrained=True, config=None,
        no_tuning=getattr(args, "no_tuning", False),
    )
    return run(ns)
