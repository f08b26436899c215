#include "engine/train/step_graph.h"

#include <exception>

#include "common/error.h"

#ifdef POLYPHONY_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace polyphony {

std::optional<CudaGraphMode> parse_cuda_graph_mode(const std::string& text) {
  if (text == "auto") return CudaGraphMode::kAuto;
  if (text == "on") return CudaGraphMode::kOn;
  if (text == "try") return CudaGraphMode::kTry;
  if (text == "off") return CudaGraphMode::kOff;
  return std::nullopt;
}

const char* cuda_graph_mode_name(CudaGraphMode mode) {
  switch (mode) {
    case CudaGraphMode::kAuto:
      return "auto";
    case CudaGraphMode::kOn:
      return "on";
    case CudaGraphMode::kTry:
      return "try";
    case CudaGraphMode::kOff:
      return "off";
  }
  return "?";
}

#ifdef POLYPHONY_WITH_CUDA

struct StepGraph::Capture {
  at::cuda::CUDAGraph graph;
};

bool StepGraph::available() { return true; }

void StepGraph::capture(const std::function<void()>& step) {
  auto capture = std::make_unique<Capture>();
  // A side stream that waits for the work queued so far, as torch.cuda.graph captures; the
  // current stream then waits for the capture's replay.
  const auto current = c10::cuda::getCurrentCUDAStream();
  auto side = c10::cuda::getStreamFromPool();
  {
    const c10::cuda::CUDAStreamGuard on_side(side);
    side.synchronize();
    current.synchronize();
    capture->graph.capture_begin();
    try {
      step();
    } catch (const std::exception& e) {
      try {
        capture->graph.capture_end();
      } catch (const std::exception&) {  // the capture is invalid already: the first error counts
      }
      fail("CUDA graph: the training step could not be captured ({}); train with --cuda-graph off",
           e.what());
    }
    capture->graph.capture_end();
  }
  capture_ = std::move(capture);
  replay();
}

void StepGraph::replay() {
  if (!capture_) fail("CUDA graph: nothing captured to replay");
  capture_->graph.replay();
}

#else

struct StepGraph::Capture {};

bool StepGraph::available() { return false; }

void StepGraph::capture(const std::function<void()>& /*step*/) {
  fail("CUDA graph: this build has no CUDA (POLYPHONY_CUDA=OFF)");
}

void StepGraph::replay() { fail("CUDA graph: this build has no CUDA (POLYPHONY_CUDA=OFF)"); }

#endif

StepGraph::StepGraph() = default;
StepGraph::~StepGraph() = default;

bool StepGraph::captured() const { return capture_ != nullptr; }

void StepGraph::reset() { capture_.reset(); }

}  // namespace polyphony
