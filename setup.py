"""Installs dfadv_tf. Versions are pinned to the stack checked to install together."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
  with open(os.path.join(HERE, "dfadv_tf", "__init__.py"), encoding="utf-8") as f:
    return re.search(r'__version__ = "([^"]+)"', f.read()).group(1)


# Binaries as `console_scripts`: dfadv_tf/cli/<name>.py -> dfadv-<name>, started by
# dfadv_tf/cli/launch.py (tools/<name>.py are entry points onto the same code for Bazel
# and `python -m tools.<name>`; the `tools` folder is not installed).
_BINARIES = ["make_demo_data", "preprocess", "train", "evaluate", "attack", "detect",
             "export", "robustness"]
_SCRIPTS = [f"dfadv-{name.replace('_', '-')}=dfadv_tf.cli.launch:{name}" for name in _BINARIES]

setup(
    name="dfadv_tf",
    version=_version(),
    description=("Deepfake detectors trained against blurring, additive and spatial "
                 "adversaries (Deepfake Forensics via An Adversarial Game) in Keras 3."),
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["dfadv_tf", "dfadv_tf.*"]),
    package_data={"dfadv_tf.data": ["ffpp_splits/*.json", "ffpp_splits/README.md"],
                  "dfadv_tf.cli": ["help/*.txt"]},  # --help without TensorFlow (launch.py)
    install_requires=[
        "tensorflow==2.21.0",
        "keras==3.15.1",
        "tensorboard==2.21.0",  # no longer a dependency of tensorflow 2.21
        "absl-py==2.5.1",
        "numpy>=1.26,<2.5",
        "scikit-learn==1.9.1",
        "scikit-image==0.26.0",
        "opencv-python-headless>=4.10,<5",
        "mtcnn==1.0.0",
        "imageio-ffmpeg==0.8.1",  # its bundled ffmpeg encodes H.264 (libx264): codecs.py
        "matplotlib==3.11.2",  # the robustness report's plot (dfadv-robustness)
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",  # make test: two workers (-n 2)
            "cleverhans==4.0.0",
            "nbclient==0.11.0",
            "nbformat==5.11.1",
            "ipykernel==7.4.0",
        ],
        # benchmarks/reference_compare.py: the paper's PyTorch code, side by side (the
        # user fetches a checkout of it; it is never vendored). CPU wheel is enough.
        "reference": ["torch==2.13.0"],
    },
    entry_points={"console_scripts": _SCRIPTS},
)
