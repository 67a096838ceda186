"""MaseGraph: a torch.fx GraphModule plus MASE metadata."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch
import torch.fx as fx

from core.ir.metadata import MaseGraphMetadata, MaseMetadata
from core.ir.tracer import trace_module


class MaseGraph:
    def __init__(
        self,
        model: torch.nn.Module,
        cf_args: dict[str, Any] | None = None,
        custom_leaf_modules: Iterable[type] = (),
        custom_leaf_functions: Iterable[Callable] = (),
        *,
        training: bool = False,
    ) -> None:
        self.cf_args = cf_args
        self.custom_leaf_modules = tuple(custom_leaf_modules)
        self.custom_leaf_functions = tuple(custom_leaf_functions)
        if isinstance(model, fx.GraphModule):
            self.model = model
        else:
            # eval mode unless the training graph is asked for (core/ir/tracer.py says why)
            self.model = trace_module(model, cf_args, self.custom_leaf_modules, self.custom_leaf_functions,
                                      training=training)
        self.meta: dict[str, MaseGraphMetadata] = {"mase": MaseGraphMetadata(model=self.model)}

    @property
    def traced_mode(self) -> str:
        """"eval" or "train": the mode the graph was traced in (the GraphModule keeps the flag
        through copies and recompiles)."""
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
        self.model = fx.GraphModule(self.model, self.model.graph, self.model.__class__.__name__)
        self.rebind_metadata()

    def rebind_metadata(self) -> None:
        for node in self.model.graph.nodes:
            meta = node.meta.get("mase")
            if isinstance(meta, MaseMetadata):
                meta.node = node
                meta.model = self.model
        self.meta["mase"].model = self.model

    def copy(self) -> "MaseGraph":
        """An independent graph: its own modules, parameters and metadata."""
        saved = {}
        for node in self.model.graph.nodes:
            saved[node.name] = node.meta.pop("mase", None)
        try:
            model = copy.deepcopy(self.model)
        finally:
            for node in self.model.graph.nodes:
                if saved.get(node.name) is not None:
                    node.meta["mase"] = saved[node.name]
        new = MaseGraph.__new__(MaseGraph)
        new.cf_args = copy.deepcopy(self.cf_args)
        new.custom_leaf_modules = self.custom_leaf_modules
        new.custom_leaf_functions = self.custom_leaf_functions
        new.model = model
        for node in model.graph.nodes:
            meta = saved.get(node.name)
            if meta is not None:
                node.meta["mase"] = copy.deepcopy(meta)
        new.meta = {"mase": copy.deepcopy(self.meta["mase"])}
        new.rebind_metadata()
        return new

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self) -> str:
        return f"MaseGraph({self.model.__class__.__name__}, {len(self.model.graph.nodes)} nodes)"
