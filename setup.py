"""Build script: the data folders and the optional compiled kernels.

The kernels (diagnose/read/_fastwire.c: decoding; diagnose/read/v1/_v1fast.c: old-format
traces to column rows; diagnose/timeline/_fastscan.c: hot scans over the columns;
diagnose/graph/_fastgraph.c: the graph's held-P queries;
diagnose/features/_fastfeat.c: the features stage's hot reductions) are optional: when no C compiler is present the build
goes on without it and the reader uses its pure-Python path (same interface, tested).
"""
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Compile extensions when possible; never fail the install because of them."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "fallback"
            print(f"netpoll-diagnose: compiled kernel not built ({exc}); using pure Python")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"netpoll-diagnose: {ext.name} not built ({exc}); using pure Python")


import os

ext_modules = []
if os.path.exists("diagnose/read/_fastwire.c") and not os.environ.get("NETPOLL_DIAGNOSE_PURE"):
    ext_modules.append(Extension("diagnose.read._fastwire", ["diagnose/read/_fastwire.c"],
                                 extra_compile_args=["-O2"], optional=True))
if os.path.exists("diagnose/read/v1/_v1fast.c") and not os.environ.get("NETPOLL_DIAGNOSE_PURE"):
    ext_modules.append(Extension("diagnose.read.v1._v1fast", ["diagnose/read/v1/_v1fast.c"],
                                 extra_compile_args=["-O2"], optional=True))
if os.path.exists("diagnose/timeline/_fastscan.c") and not os.environ.get("NETPOLL_DIAGNOSE_PURE"):
    ext_modules.append(Extension("diagnose.timeline._fastscan", ["diagnose/timeline/_fastscan.c"],
                                 extra_compile_args=["-O2"], optional=True))
if os.path.exists("diagnose/graph/_fastgraph.c") and not os.environ.get("NETPOLL_DIAGNOSE_PURE"):
    ext_modules.append(Extension("diagnose.graph._fastgraph", ["diagnose/graph/_fastgraph.c"],
                                 extra_compile_args=["-O2"], optional=True))

if os.path.exists("diagnose/features/_fastfeat.c") and not os.environ.get("NETPOLL_DIAGNOSE_PURE"):
    # no contraction of a*b+c into one rounding: the percentiles must round as numpy's do
    ext_modules.append(Extension("diagnose.features._fastfeat", ["diagnose/features/_fastfeat.c"],
                                 extra_compile_args=["-O2", "-ffp-contract=off"], optional=True))

setup(
    packages=find_packages(include=["diagnose", "diagnose.*"])
    + ["diagnose._data.rules", "diagnose._data.knowledge"],
    ext_modules=ext_modules,
    cmdclass={"build_ext": OptionalBuildExt},
)
