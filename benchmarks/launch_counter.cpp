#include "benchmarks/launch_counter.h"

#include <kineto/ActivityType.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <set>

namespace polyphony {

LaunchCounts count_launches(const std::function<void()>& work, const c10::Device& device) {
  namespace profiler = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  std::set<ActivityType> activities = {ActivityType::CPU};
  if (device.is_cuda()) activities.insert(ActivityType::CUDA);
  // CUDA synchronisation events (device, stream and event waits, hence every host read of a
  // device value) are recorded only when asked for.
  torch::profiler::impl::ExperimentalConfig experimental;
  experimental.enable_cuda_sync_events = device.is_cuda();
  const torch::profiler::impl::ProfilerConfig config(
      torch::profiler::impl::ProfilerState::KINETO, /*report_input_shapes=*/false,
      /*profile_memory=*/false, /*with_stack=*/false, /*with_flops=*/false,
      /*with_modules=*/false, experimental);
  // Without a CUDA driver, Kineto logs a failed GPU query as an error on every start; quiet
  // (level 5: above ERROR) unless the user chose a level.
  if (!torch::cuda::is_available()) setenv("KINETO_LOG_LEVEL", "5", /*overwrite=*/0);
  // Operators only: autograd's backward nodes are another scope and would count twice.
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities, {at::RecordScope::FUNCTION});
  LaunchCounts counts;
  try {
    work();
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  } catch (...) {
    profiler::disableProfiler();
    throw;
  }
  const auto result = profiler::disableProfiler();
  for (const auto& event : result->events()) {
    switch (static_cast<libkineto::ActivityType>(event.activityType())) {
      case libkineto::ActivityType::CPU_OP:
        ++counts.operators;
        ++counts.operators_by_name[event.name()];
        break;
      case libkineto::ActivityType::CONCURRENT_KERNEL:
        ++counts.kernels;
        break;
      case libkineto::ActivityType::CUDA_SYNC:
        ++counts.synchronizations;
        break;
      default:
        break;
    }
  }
  return counts;
}

}  // namespace polyphony
