// Kernel benchmarks: each custom kernel against the plain-torch reference in the same run, on the
// CPU and, when present, on CUDA. Counters: bytes/s of the compulsory traffic (inputs read once,
// outputs written once) and items/s.

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "benchmarks/benchmarks.h"
#include "kernels/csr_matmul.h"
#include "kernels/row_updates.h"
#include "kernels/spectral_norm.h"
#include "kernels/topk_prototype_filter.h"

namespace polyphony {
namespace {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

struct TopkSizes {
  int64_t rows, prototypes, dim, k;
};

// The fused filter, forward alone or forward + backward.
void topk_filter_kernel(benchmark::State& state, torch::Device device, TopkSizes s, bool backward) {
  auto e = torch::randn({s.rows, s.dim}, torch::device(device)).requires_grad_(backward);
  auto p = torch::randn({s.prototypes, s.dim}, torch::device(device)).requires_grad_(backward);
  auto w = torch::randn({s.rows, s.k}, torch::device(device));
  for (auto _ : state) {
    auto kept = topk_prototype_filter(e, p, s.k);
    if (backward) (kept.values * w).sum().backward();
    synchronize(device);
  }
  // Compulsory traffic. Forward: read E, write values and indices. Backward: read the values'
  // gradient, values, indices and E, write E's gradient.
  double bytes = 4.0 * s.rows * s.dim + 12.0 * s.rows * s.k;
  if (backward) bytes += 8.0 * s.rows * s.dim + 16.0 * s.rows * s.k;
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.SetItemsProcessed(s.rows * state.iterations());
}

// The same in plain torch ops: normalise, matmul, topk, scatter into a dense matrix.
void topk_filter_reference(benchmark::State& state, torch::Device device, TopkSizes s,
                           bool backward) {
  namespace F = torch::nn::functional;
  auto e = torch::randn({s.rows, s.dim}, torch::device(device)).requires_grad_(backward);
  auto p = torch::randn({s.prototypes, s.dim}, torch::device(device)).requires_grad_(backward);
  auto w = torch::randn({s.rows, s.prototypes}, torch::device(device));
  for (auto _ : state) {
    auto sims = 1.0 + F::normalize(e, F::NormalizeFuncOptions().dim(1))
                          .mm(F::normalize(p, F::NormalizeFuncOptions().dim(1)).t());
    auto top = sims.topk(s.k, 1);
    auto dense = torch::zeros_like(sims).scatter(1, std::get<1>(top), std::get<0>(top));
    if (backward) (dense * w).sum().backward();
    synchronize(device);
  }
  state.SetItemsProcessed(s.rows * state.iterations());
}

void spectral_norm_kernel(benchmark::State& state, torch::Device device, int64_t batch, int64_t n) {
  auto a = torch::randn({batch, n, n}, torch::device(device));
  SpectralNormOptions options;
  options.max_iterations = 100;
  options.tolerance = 1e-4;
  for (auto _ : state) {
    auto r = batched_spectral_norm(a, options);
    synchronize(device);
    benchmark::DoNotOptimize(r.sigma.data_ptr());
  }
  state.SetBytesProcessed(4 * batch * n * n * state.iterations());
  state.SetItemsProcessed(batch * state.iterations());
}

void spectral_norm_reference(benchmark::State& state, torch::Device device, int64_t batch,
                             int64_t n) {
  auto a = torch::randn({batch, n, n}, torch::device(device));
  for (auto _ : state) {
    auto sigma = torch::linalg_matrix_norm(a, 2);
    synchronize(device);
    benchmark::DoNotOptimize(sigma.data_ptr());
  }
  state.SetItemsProcessed(batch * state.iterations());
}

void factorized_spectral_norm_bench(benchmark::State& state, torch::Device device, int64_t users,
                                    int64_t items, int64_t dim) {
  auto u = torch::randn({users, dim}, torch::device(device)).requires_grad_(true);
  auto v = torch::randn({items, dim}, torch::device(device)).requires_grad_(true);
  SpectralWarmStart warm;
  SpectralNormOptions options;
  options.max_iterations = 10;
  for (auto _ : state) {
    factorized_spectral_norm(u, v, {}, 1, &warm, options).sum().backward();
    synchronize(device);
  }
  state.SetBytesProcessed(4 * (users + items) * dim * 2 * state.iterations());
}

// LibTorch's product (MKL on the CPU, cuSPARSE on CUDA) with `reference`, else Polyphony's, of a
// random graph matrix [nodes, nodes] with about `entries` entries and a [nodes, 64] matrix, as in
// a LightGCN layer.
void csr_matmul_bench(benchmark::State& state, torch::Device device, int64_t nodes, int64_t entries,
                      bool reference) {
  const auto positions = torch::randint(nodes, {2, entries}, torch::kLong);
  const auto a = torch::sparse_coo_tensor(positions, torch::rand({entries}), {nodes, nodes})
                     .coalesce()
                     .to_sparse_csr()
                     .to(device);
  const auto x = torch::randn({nodes, 64}, torch::device(device));
  for (auto _ : state) {
    auto y = reference ? at::mm(a, x) : csr_matmul(a, x);
    synchronize(device);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(a.values().numel() * state.iterations());
}

// Lazy Adam on `n` distinct random rows (ascending, as a coalesced gradient holds them) of a
// [rows, 64] table: a sparse MF step's update of its item table. Different rows at each call, so a
// large table's rows come from memory, as in training.
void adam_rows_bench(benchmark::State& state, torch::Device device, int64_t rows, int64_t n) {
  const auto options = torch::device(device);
  const auto table = torch::randn({rows, 64}, options);
  const auto first = torch::zeros_like(table), second = torch::zeros_like(table);
  std::vector<RowGradient> batches;
  for (int i = 0; i < 16; ++i)
    batches.push_back(
        {std::get<0>(torch::randperm(rows, options.dtype(torch::kLong)).narrow(0, 0, n).sort()),
         torch::randn({n, 64}, options)});
  AdamRowOptions adam;
  size_t next = 0;
  for (auto _ : state) {
    ++adam.step;
    adam_update_rows(table, batches[next++ % batches.size()], first, second, adam);
    synchronize(device);
  }
  state.SetItemsProcessed(n * state.iterations());
}

}  // namespace

KernelSizes KernelSizes::gpu() { return {1000000, 4096, 100000, 500000}; }
KernelSizes KernelSizes::cpu() { return {100000, 512, 20000, 100000}; }

std::vector<benchmark::internal::Benchmark*> register_kernel_benchmarks(const c10::Device& device,
                                                                        const KernelSizes& sizes,
                                                                        std::vector<int64_t> ks) {
  const std::string dev = device_label(device);
  std::vector<benchmark::internal::Benchmark*> registered;
  for (int64_t k : ks) {
    const TopkSizes s{sizes.topk_rows, 128, 64, k};
    const std::string shape =
        "/N:" + std::to_string(sizes.topk_rows) + "/L:128/d:64/k:" + std::to_string(k);
    for (const bool backward : {false, true}) {
      const std::string pass = backward ? "fwd_bwd/" : "fwd/";
      registered.push_back(register_benchmark("topk_filter_" + pass + dev + shape, "rows/s",
                                              topk_filter_kernel, device, s, backward));
      registered.push_back(register_benchmark("topk_filter_torch_reference_" + pass + dev + shape,
                                              "rows/s", topk_filter_reference, device, s,
                                              backward));
    }
  }
  const std::string shape = "/G:" + std::to_string(sizes.spectral_batch) + "/64x64";
  registered.push_back(register_benchmark("spectral_norm/" + dev + shape, "matrices/s",
                                          spectral_norm_kernel, device, sizes.spectral_batch,
                                          int64_t{64}));
  registered.push_back(register_benchmark("spectral_norm_torch_matrix_norm/" + dev + shape,
                                          "matrices/s", spectral_norm_reference, device,
                                          sizes.spectral_batch, int64_t{64}));
  registered.push_back(register_benchmark("factorized_sigma1_fwd_bwd/" + dev +
                                              "/U:" + std::to_string(sizes.sigma_users) +
                                              "/V:" + std::to_string(sizes.sigma_items) + "/d:64",
                                          "calls/s", factorized_spectral_norm_bench, device,
                                          sizes.sigma_users, sizes.sigma_items, int64_t{64}));
  // ML-1M's graph size: 10 k nodes, 2 M entries (both directions of 1 M interactions).
  for (const bool reference : {false, true})
    registered.push_back(register_benchmark(
        std::string(reference ? "csr_matmul_torch_mm/" : "csr_matmul/") + dev +
            "/n:10000/nnz:2M/d:64",
        "entries/s", csr_matmul_bench, device, int64_t{10000}, int64_t{2000000}, reference));
  // The rows a sparse MF step of 4,096 interactions updates, from a catalogue of 10 k and 1 M
  // items.
  for (const int64_t rows : {int64_t{10000}, int64_t{1000000}})
    registered.push_back(register_benchmark(
        "adam_update_rows/" + dev + "/rows:" + (rows == 10000 ? "10k" : "1M") + "/n:8192/d:64",
        "rows/s", adam_rows_bench, device, rows, std::min<int64_t>(rows, 8192)));
  return registered;
}

}  // namespace polyphony
