#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian bookworm machine: system packages from Debian, LibTorch
# (PyTorch 2.11.0's own) from PyPI into the project venv .venv/. Safe to run again: it installs
# only what is missing and reuses a venv whose torch version already matches.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
torch_version=${POLYPHONY_TORCH_VERSION:-2.11.0}
venv=${POLYPHONY_VENV:-$root/.venv}

packages=(build-essential cmake ninja-build ccache python3 python3-venv python3-pip
  libfmt-dev libcxxopts-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libtomlplusplus-dev libxxhash-dev libgloo-dev gnuplot-nox libboost-math-dev
  libprotobuf-dev protobuf-compiler libcurl4-openssl-dev  # TensorBoard files, MLflow
  libfaiss-dev  # export --faiss
  slurmctld slurmd slurm-client munge  # the tests' one-node Slurm cluster
  clang libclang-rt-dev)  # clang and its libFuzzer: the fuzz targets (scripts/fuzz.sh)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

have=""
if [ -x "$venv/bin/python" ]; then
  have=$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
fi
if [ "$have" != "$torch_version" ]; then
  echo "setup: installing torch==$torch_version into $venv (large download, once)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "torch==$torch_version" numpy
fi
# The tests read TensorBoard files back with TensorBoard's own reader and log to a real MLflow
# tracking server, which they start themselves.
if ! "$venv/bin/python" -c 'import tensorboard, mlflow' 2>/dev/null; then
  echo "setup: installing tensorboard and mlflow into $venv (for the tests)"
  "$venv/bin/python" -m pip install -q tensorboard mlflow
fi
# The exported FAISS indexes are checked by reading them with FAISS's Python package.
if ! "$venv/bin/python" -c 'import faiss' 2>/dev/null; then
  echo "setup: installing faiss-cpu into $venv (for the tests)"
  "$venv/bin/python" -m pip install -q faiss-cpu
fi
# polyphony tune asks Optuna (the study's storage is Optuna's own; the tests open it with
# optuna-dashboard too).
if ! "$venv/bin/python" -c 'import optuna, optuna_dashboard' 2>/dev/null; then
  echo "setup: installing optuna and optuna-dashboard into $venv (polyphony tune)"
  "$venv/bin/python" -m pip install -q optuna optuna-dashboard
fi
echo "setup: ok (torch $torch_version in $venv)"
