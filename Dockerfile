# Polyphony on a CUDA 13 machine. The steps are those of scripts/gpu_build.sh: LibTorch is the one
# inside PyTorch 2.11 (CUDA 13 build), the other libraries are distribution packages.
#   docker build -t polyphony .
#   docker run --gpus all polyphony train --device cuda
FROM nvidia/cuda:13.0.2-devel-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build ccache python3 python3-venv python3-pip \
      libfmt-dev libcxxopts-dev libgtest-dev libgmock-dev libbenchmark-dev \
      nlohmann-json3-dev libtomlplusplus-dev libxxhash-dev libgloo-dev gnuplot-nox libboost-math-dev \
      libprotobuf-dev protobuf-compiler libcurl4-openssl-dev libfaiss-dev \
    && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/torch && /opt/torch/bin/pip install --no-cache-dir torch==2.11.0 numpy tensorboard mlflow faiss-cpu optuna optuna-dashboard

COPY . /src
WORKDIR /src
# Builds and runs the test suite (CUDA cases skip themselves when the build host has no GPU).
RUN scripts/gpu_build.sh --python /opt/torch/bin/python3 --build /src/build --logs /src/build-logs \
    --steps build,test \
    || (cat /src/build-logs/summary.txt; true)
RUN test -x /src/build/tools/polyphony

ENTRYPOINT ["/src/build/tools/polyphony"]
CMD ["--help"]
