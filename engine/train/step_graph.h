#pragma once
// The steady-state training step captured as a CUDA graph and replayed: one launch of the whole
// step (batch draw, forward, backward, loss bookkeeping, optimiser update) instead of one per
// operator, which is what bounds a GPU step of these models (docs/benchmarks.md). PyTorch's
// whole-network capture (at::cuda::CUDAGraph): captured on a side stream after eager warm-up
// steps, the graph's memory in its own pool, the CUDA generator's Philox offsets advanced at
// every replay. What the step reads from the host each time (the batch position, the learning
// rate) lives in device tensors the trainer writes before a replay.

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace polyphony {

// --cuda-graph: auto (capture where the step can be captured and the model's step has been shown
// to replay, saying why not elsewhere), on (capture, or fail saying why not), try (as auto, and
// also a model whose step has not yet been shown to replay: how it is shown), off (eager steps).
enum class CudaGraphMode { kAuto, kOn, kTry, kOff };

std::optional<CudaGraphMode> parse_cuda_graph_mode(const std::string& text);
const char* cuda_graph_mode_name(CudaGraphMode mode);

class StepGraph {
 public:
  StepGraph();
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Whether this build can capture CUDA graphs at all (false without the CUDA kernels).
  static bool available();

  // Records `step` (run once on the host, its device work recorded, not run), then replays it
  // once, so that the step has been done when this returns. A failure ends the capture and is an
  // error naming the cause.
  void capture(const std::function<void()>& step);
  // Runs the recorded step again.
  void replay();
  bool captured() const;
  // Drops the graph (after a restore: the tensors it reads may have been replaced).
  void reset();

 private:
  struct Capture;
  std::unique_ptr<Capture> capture_;
};

}  // namespace polyphony
