// The row-wise optimiser updates (kernels/row_updates.h) on every kernel target (each compilation
// of the CPU kernel; on CUDA the tensor operations) against the rules written out in plain torch
// operations in double precision, on fresh random tables, rows in random order and row widths
// below, at and between vector widths.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "device_cases.h"
#include "kernels/row_updates.h"

namespace polyphony {
namespace {

struct Shape {
  int64_t rows, d, n;  // table rows, row width, rows updated
  bool every_row;      // an undefined index: every row, in order
};

const Shape kShapes[] = {{3000, 67, 1000, false},
                         {600, 64, 600, true},
                         {10, 1, 3, false},
                         {40, 8, 0, false},
                         {9, 17, 9, false}};

struct Rows {
  at::Tensor index;     // int64 [n] on the device, undefined for every row
  at::Tensor gradient;  // [n, d] on the device
  at::Tensor read;      // int64 [n] on the CPU: the rows the reference updates
};

Rows random_rows(const Shape& s, const torch::Device& device) {
  Rows r;
  r.read = s.every_row ? torch::arange(s.rows) : torch::randperm(s.rows).narrow(0, 0, s.n);
  if (!s.every_row) r.index = r.read.to(device);
  // Away from zero: where g + λ·w cancels to the order of Adam's ε, the rule's ratio
  // m / (√v + ε) is ill-conditioned, and float and double differ there by more than any
  // tolerance that would still catch a wrong rule (a CI seed hit it: 2.2e-5 in a weight, the
  // same in every compilation of the kernel).
  const auto x = torch::randn({s.n, s.d}, torch::kDouble);
  r.gradient = x.sign() * (x.abs() + 0.1);
  return r;
}

RowGradient on(const Rows& r, const torch::Device& device) {
  return {r.index, r.gradient.to(torch::kFloat).to(device)};
}

at::Tensor as_double(const at::Tensor& t) { return t.cpu().to(torch::kDouble); }

void expect_near(const at::Tensor& got, const at::Tensor& expected, const std::string& what) {
  EXPECT_TRUE(torch::allclose(as_double(got), expected, 1e-5, 1e-5))
      << what << ": max difference " << (as_double(got) - expected).abs().max().item<double>();
}

std::string shape_name(const Shape& s) {
  return std::to_string(s.rows) + "x" + std::to_string(s.d) + " n " + std::to_string(s.n);
}

class RowUpdateParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RowUpdateParity, AdamAndAdamWFollowTheRule) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  for (const auto& s : kShapes) {
    for (const bool decoupled : {false, true}) {
      const auto options = torch::dtype(torch::kFloat).device(target.device);
      auto w = torch::randn({s.rows, s.d}, options);
      auto m = torch::zeros_like(w), v = torch::zeros_like(w);
      auto rw = as_double(w), rm = as_double(m), rv = as_double(v);
      AdamRowOptions o;
      o.lr = 0.05;
      o.weight_decay = 0.01;
      o.decoupled = decoupled;
      for (int64_t step = 1; step <= 3; ++step) {
        const Rows r = random_rows(s, target.device);
        o.step = step;
        adam_update_rows(w, on(r, target.device), m, v, o);
        // Kingma & Ba (2015), Algorithm 1, on the rows read; AdamW decays the weight instead.
        const double t = static_cast<double>(step);
        auto wr = rw.index_select(0, r.read);
        auto g = r.gradient.to(torch::kFloat).to(torch::kDouble);
        if (!decoupled) g = g + o.weight_decay * wr;
        const auto mr = 0.9 * rm.index_select(0, r.read) + 0.1 * g;
        const auto vr = 0.999 * rv.index_select(0, r.read) + 0.001 * g * g;
        if (decoupled) wr = wr * (1 - o.lr * o.weight_decay);
        wr = wr - o.lr / (1 - std::pow(0.9, t)) * mr /
                      (vr.sqrt() / std::sqrt(1 - std::pow(0.999, t)) + o.epsilon);
        rm.index_copy_(0, r.read, mr);
        rv.index_copy_(0, r.read, vr);
        rw.index_copy_(0, r.read, wr);
      }
      const std::string what = shape_name(s) + (decoupled ? " adamw" : " adam");
      expect_near(w, rw, what + " weights");
      expect_near(m, rm, what + " first moment");
      expect_near(v, rv, what + " second moment");
    }
  }
}

TEST_P(RowUpdateParity, AdagradFollowsTheRule) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  for (const auto& s : kShapes) {
    auto w = torch::randn({s.rows, s.d}, torch::dtype(torch::kFloat).device(target.device));
    auto sums = torch::zeros({s.rows}, w.options());
    auto rw = as_double(w), rs = as_double(sums);
    const double lr = 0.3, decay = 0.01, eps = 1e-10;
    for (int step = 0; step < 3; ++step) {
      const Rows r = random_rows(s, target.device);
      adagrad_update_rows(w, on(r, target.device), sums, lr, decay, eps);
      const auto g =
          r.gradient.to(torch::kFloat).to(torch::kDouble) + decay * rw.index_select(0, r.read);
      const auto sr = rs.index_select(0, r.read) + g.pow(2).mean(1);
      rs.index_copy_(0, r.read, sr);
      rw.index_copy_(0, r.read,
                     rw.index_select(0, r.read) - lr * g / (sr.sqrt() + eps).unsqueeze(1));
    }
    expect_near(w, rw, shape_name(s) + " adagrad weights");
    expect_near(sums, rs, shape_name(s) + " adagrad sums");
  }
}

TEST_P(RowUpdateParity, SgdWithAndWithoutMomentumFollowsTheRule) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  for (const auto& s : kShapes) {
    for (const double momentum : {0.0, 0.9}) {
      auto w = torch::randn({s.rows, s.d}, torch::dtype(torch::kFloat).device(target.device));
      auto buffer = momentum > 0 ? torch::zeros_like(w) : at::Tensor();
      auto rw = as_double(w), rb = torch::zeros_like(rw);
      const double lr = 0.05, decay = 0.01;
      for (int step = 0; step < 3; ++step) {
        const Rows r = random_rows(s, target.device);
        sgd_update_rows(w, on(r, target.device), buffer, lr, momentum, decay);
        auto g =
            r.gradient.to(torch::kFloat).to(torch::kDouble) + decay * rw.index_select(0, r.read);
        if (momentum > 0) {
          g = momentum * rb.index_select(0, r.read) + g;
          rb.index_copy_(0, r.read, g);
        }
        rw.index_copy_(0, r.read, rw.index_select(0, r.read) - lr * g);
      }
      const std::string what = shape_name(s) + " sgd momentum " + std::to_string(momentum);
      expect_near(w, rw, what + " weights");
      if (momentum > 0) expect_near(buffer, rb, what + " buffer");
    }
  }
}

// Each update tells whether every value it wrote to the table is finite, so a trainer need not
// scan the table: false exactly when an updated row turned non-finite, whichever row (the last of
// a thread's share included), by either path.
TEST_P(RowUpdateParity, ReportsWhetherEveryValueWrittenIsFinite) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  const double inf = std::numeric_limits<double>::infinity();
  using Update = std::function<at::Tensor(const at::Tensor&, const RowGradient&, RowUpdatePath)>;
  const std::vector<std::pair<std::string, Update>> updates = {
      {"adam",
       [&](const at::Tensor& w, const RowGradient& r, RowUpdatePath path) {
         return adam_update_rows(w, r, torch::zeros_like(w), torch::zeros_like(w), {}, path);
       }},
      {"adagrad",
       [&](const at::Tensor& w, const RowGradient& r, RowUpdatePath path) {
         return adagrad_update_rows(w, r, torch::zeros({w.size(0)}, w.options()), 0.1, 0.01, 1e-10,
                                    path);
       }},
      {"sgd momentum",
       [&](const at::Tensor& w, const RowGradient& r, RowUpdatePath path) {
         return sgd_update_rows(w, r, torch::zeros_like(w), 0.1, 0.9, 0.01, path);
       }},
      {"sgd", [&](const at::Tensor& w, const RowGradient& r, RowUpdatePath path) {
         return sgd_update_rows(w, r, at::Tensor(), 0.1, 0, 0.01, path);
       }}};
  const Shape s{3000, 67, 1000, false};
  for (const auto& [name, update] : updates) {
    for (const auto path : {RowUpdatePath::kFused, RowUpdatePath::kOperators}) {
      const std::string what =
          name + (path == RowUpdatePath::kFused ? " fused" : " operators") + ": ";
      const Rows r = random_rows(s, target.device);
      auto table = torch::randn({s.rows, s.d}, options);
      // A row no update reads is none of its business.
      const int64_t unread =
          torch::ones({s.rows}).index_fill_(0, r.read, 0).nonzero()[0].item<int64_t>();
      table[unread][0] = std::nan("");
      const auto finite = update(table, on(r, target.device), path);
      EXPECT_EQ(finite.device(), table.device()) << what;
      EXPECT_TRUE(finite.item<bool>()) << what << "finite gradients";
      for (const int64_t row : {int64_t{0}, s.n / 2, s.n - 1}) {
        for (const double bad : {std::nan(""), inf, -inf}) {
          Rows broken = r;
          broken.gradient = r.gradient.clone();
          broken.gradient[row][s.d - 1] = bad;
          auto copy = torch::randn({s.rows, s.d}, options);
          EXPECT_FALSE(update(copy, on(broken, target.device), path).item<bool>())
              << what << bad << " in the gradient of updated row " << row;
        }
        auto nan_row = torch::randn({s.rows, s.d}, options);
        nan_row[r.read[row].item<int64_t>()][3] = std::nan("");
        EXPECT_FALSE(update(nan_row, on(r, target.device), path).item<bool>())
            << what << "updated row " << row << " held a NaN";
      }
    }
  }
}

// The kernel writes through raw pointers, so it refuses what it cannot read that way.
TEST_P(RowUpdateParity, RefusesTablesItCannotUpdateInPlace) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  if (target.device.is_cuda()) GTEST_SKIP() << "tensor operations on CUDA take any layout";
  auto w = torch::randn({20, 6});
  auto m = torch::zeros_like(w), v = torch::zeros_like(w);
  const RowGradient rows{torch::tensor({1, 4}), torch::randn({2, 6})};
  auto transposed = torch::randn({6, 20}).t();
  EXPECT_THROW(adam_update_rows(transposed, rows, m, v, {}), c10::Error);
  EXPECT_THROW(adam_update_rows(w, {rows.index, torch::randn({2, 5})}, m, v, {}), c10::Error);
  EXPECT_THROW(adam_update_rows(w, {torch::tensor({1}), rows.gradient}, m, v, {}), c10::Error);
  EXPECT_THROW(adam_update_rows(w, rows, m.to(torch::kDouble), v, {}), c10::Error);
  EXPECT_THROW(adagrad_update_rows(w, rows, torch::zeros({19}), 0.1, 0, 1e-10), c10::Error);
}

INSTANTIATE_TEST_SUITE_P(Targets, RowUpdateParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
