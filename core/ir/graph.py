"""MaseGraph: a torch.fx GraphModule plus MASE metadata."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch
import torch.fx as fx

from core.ir.capture import capture, capture_info
from core.ir.metadata import MaseGraphMetadata, MaseMetadata, copy_value


class MaseGraph:
    def __init__(
        self,
        model: torch.nn.Module,
        cf_args: dict[str, Any] | None = None,
        custom_leaf_modules: Iterable[type] = (),
        custom_leaf_functions: Iterable[Callable] = (),
        *,
        tracer: str = "auto",
        example_inputs: tuple | None = None,
        training: bool = False,
    ) -> None:
        self.cf_args = cf_args
        self.custom_leaf_modules = tuple(custom_leaf_modules)
        self.custom_leaf_functions = tuple(custom_leaf_functions)
        if isinstance(model, fx.GraphModule):
            self.model = model
        else:
            # fx first; torch.export (given example inputs) when fx fails or is not wanted. Eval
            # mode unless the training graph is asked for (core/ir/tracer.py says why).
            self.model = capture(model, tracer=tracer, cf_args=cf_args,
                                 custom_leaf_modules=self.custom_leaf_modules,
                                 custom_leaf_functions=self.custom_leaf_functions,
                                 example_inputs=example_inputs, train=training)
        self.meta: dict[str, MaseGraphMetadata] = {"mase": MaseGraphMetadata(model=self.model)}

    @property
    def capture(self) -> dict[str, Any]:
        """Which tracer made the graph and why (``{"tracer": "export", "reason": ...}``)."""
        return capture_info(self.model)

    @property
    def traced_mode(self) -> str:
        """"eval" or "train": the mode the graph was traced in (recorded at capture; graphs
        given as GraphModules report their training flag)."""
        mode = self.capture.get("mode")
        if mode in ("eval", "train"):
            return mode
        return "train" if self.model.training else "eval"

    @property
    def fx_graph(self) -> fx.Graph:
        return self.model.graph

    @property
    def nodes(self):
        return self.model.graph.nodes

    @property
    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self.model.named_modules())

    def node(self, name: str) -> fx.Node:
        for node in self.model.graph.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def placeholder_names(self) -> list[str]:
        return [n.name for n in self.model.graph.nodes if n.op == "placeholder"]

    def recompile(self) -> None:
        """Rebuild the GraphModule after graph or module edits; metadata stays on the nodes."""
        meta = dict(getattr(self.model, "meta", {}))
        self.model = fx.GraphModule(self.model, self.model.graph, self.model.__class__.__name__)
        self.model.meta.update(meta)  # how it was captured survives a recompile
        self.rebind_metadata()

    def rebind_metadata(self) -> None:
        for node in self.model.graph.nodes:
            meta = node.meta.get("mase")
            if isinstance(meta, MaseMetadata):
                meta.node = node
                meta.model = self.model
        self.meta["mase"].model = self.model

    def copy(self) -> "MaseGraph":
        """An independent graph: its own modules, parameters and metadata. Reads its source only
        (readers on other threads may be looking at it). fx copies a node's ``meta`` dict
        shallowly, so the copy's nodes get their own MASE metadata, copied structurally with the
        model's memo: a parameter held in the metadata becomes the copy's parameter."""
        memo: dict[int, Any] = {}
        model = copy.deepcopy(self.model, memo)
        sources = {node.name: node for node in self.model.graph.nodes}
        new = MaseGraph.__new__(MaseGraph)
        new.cf_args = copy_value(self.cf_args, memo)
        new.custom_leaf_modules = self.custom_leaf_modules
        new.custom_leaf_functions = self.custom_leaf_functions
        new.model = model
        for node in model.graph.nodes:
            meta = sources[node.name].meta.get("mase")
            if meta is not None:
                node.meta["mase"] = copy_value(meta, memo)
        new.meta = {"mase": copy_value(self.meta["mase"], memo)}
        new.rebind_metadata()
        return new

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self) -> str:
        return f"MaseGraph({self.model.__class__.__name__}, {len(self.model.graph.nodes)} nodes)"
