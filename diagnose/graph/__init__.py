"""The causal graph: who waited on what, who woke whom, who held the Ps meanwhile.

    from diagnose.graph import build_graph
    cg = build_graph(timelines)                 # CausalGraph; cg.g is a networkx.MultiDiGraph
    cg.explain_network_wait(goroutine_id, t_ns) # one slow network wait, explained
"""
from .causal import CausalGraph, WaitExplanation, build_graph

__all__ = ["CausalGraph", "WaitExplanation", "build_graph"]
