// The gathered ranking loss on every kernel target (each compilation of the CPU kernel, and CUDA)
// against plain torch operations in double precision: the four losses, their gradients for both
// tables (dense and row-sparse) and for one table holding both sides, on fresh random inputs
// with repeated users and items.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "device_cases.h"
#include "kernels/gathered_ranking_loss.h"

namespace polyphony {
namespace {

class GatheredRankingLossParity : public ::testing::TestWithParam<std::string> {};

// The reference: gathered rows, products and the loss formula of ranking_losses.h, in double.
at::Tensor reference_loss(const at::Tensor& user_table, const at::Tensor& item_table,
                          const at::Tensor& users, const at::Tensor& items, RankingLoss loss) {
  const auto u = user_table.index_select(0, users);
  const auto v =
      item_table.index_select(0, items.reshape(-1)).view({items.size(0), items.size(1), -1});
  const auto scores = (v * u.unsqueeze(1)).sum(2);
  return ranking_loss(ranking_loss_name(loss), scores.narrow(1, 0, 1),
                      scores.narrow(1, 1, scores.size(1) - 1));
}

at::Tensor dense(const at::Tensor& grad) { return grad.is_sparse() ? grad.to_dense() : grad; }

TEST_P(GatheredRankingLossParity, MatchesGatheredProductsInDouble) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  struct Case {
    int64_t b, n, users, items, f;
  };
  // An MF batch; widths below, at and between vector widths; more slots than items (repeats).
  const Case cases[] = {{512, 1, 60, 300, 64},
                        {7, 4, 3, 5, 1},
                        {33, 9, 10, 40, 17},
                        {20, 38, 15, 25, 81},
                        {1, 1, 1, 2, 16}};
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    if (target.device.is_cuda() && dtype == torch::kDouble) continue;
    for (const auto loss :
         {RankingLoss::kBpr, RankingLoss::kSoftmax, RankingLoss::kBce, RankingLoss::kMse}) {
      for (const bool row_sparse : {false, true}) {
        for (const auto& c : cases) {
          const auto options = torch::dtype(dtype).device(target.device);
          const auto ids = torch::dtype(torch::kLong).device(target.device);
          // Scores of a few units, so that every loss has gradients away from 0 and 1.
          auto user_table =
              (torch::randn({c.users, c.f}, options) / std::sqrt(c.f) * 2).requires_grad_();
          auto item_table =
              (torch::randn({c.items, c.f}, options) / std::sqrt(c.f) * 2).requires_grad_();
          const auto users = torch::randint(c.users, {c.b}, ids);
          // Only the first items are named, so the rest must get a zero gradient.
          const auto items = torch::randint(std::max<int64_t>(1, c.items - 2), {c.b, 1 + c.n}, ids);
          const auto out =
              gathered_ranking_loss(user_table, item_table, users, items, loss, row_sparse);
          const auto weight = torch::rand({}, torch::kDouble) + 0.5;
          (out * weight.to(options)).backward();

          auto ut = user_table.detach().cpu().to(torch::kDouble).requires_grad_();
          auto it = item_table.detach().cpu().to(torch::kDouble).requires_grad_();
          const auto expected = reference_loss(ut, it, users.cpu(), items.cpu(), loss);
          (expected * weight).backward();

          const double tolerance = dtype == torch::kFloat ? 1e-4 : 1e-11;
          const std::string what = std::string(ranking_loss_name(loss)) + " " +
                                   (row_sparse ? "row-sparse " : "") + std::to_string(c.b) + "x" +
                                   std::to_string(1 + c.n) + " F " + std::to_string(c.f) + " " +
                                   std::string(c10::toString(dtype));
          auto near = [&](const at::Tensor& got, const at::Tensor& want) {
            return torch::allclose(dense(got.detach()).cpu().to(torch::kDouble), want, tolerance,
                                   tolerance);
          };
          ASSERT_EQ(out.dim(), 0) << what;
          EXPECT_TRUE(near(out, expected)) << what << " loss";
          EXPECT_EQ(user_table.grad().is_sparse(), row_sparse) << what;
          EXPECT_TRUE(near(user_table.grad(), ut.grad())) << what << " users' gradient";
          EXPECT_TRUE(near(item_table.grad(), it.grad())) << what << " items' gradient";
        }
      }
    }
  }
}

// LightGCN's form: users are rows [0, offset) of one table, item i its row offset + i.
TEST_P(GatheredRankingLossParity, OneTableHoldingBothSides) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  const auto ids = torch::dtype(torch::kLong).device(target.device);
  for (const auto loss : {RankingLoss::kBpr, RankingLoss::kSoftmax}) {
    const int64_t users_count = 30, items_count = 50, f = 24;
    auto table = (torch::randn({users_count + items_count, f}, options) * 0.4).requires_grad_();
    const auto users = torch::randint(users_count, {64}, ids);
    const auto items = torch::randint(items_count, {64, 4}, ids);
    const auto out = gathered_ranking_loss(table, users_count, users, items, loss);
    out.backward();
    auto t = table.detach().cpu().to(torch::kDouble).requires_grad_();
    const auto expected =
        reference_loss(t.narrow(0, 0, users_count), t.narrow(0, users_count, items_count),
                       users.cpu(), items.cpu(), loss);
    expected.backward();
    EXPECT_TRUE(torch::allclose(out.detach().cpu().to(torch::kDouble), expected, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(table.grad().cpu().to(torch::kDouble), t.grad(), 1e-5, 1e-5))
        << ranking_loss_name(loss);
  }
}

// Gradients are summed per table row in batch order: the same bits whatever the threads.
TEST_P(GatheredRankingLossParity, GradientsDoNotDependOnTheThreadCount) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  if (target.device.is_cuda()) GTEST_SKIP() << "CUDA sums dense gradients with atomics";
  const auto users_table = torch::randn({40, 64}).requires_grad_();
  const auto items_table = torch::randn({70, 64}).requires_grad_();
  const auto users = torch::randint(40, {2000});
  const auto items = torch::randint(70, {2000, 3});
  std::vector<at::Tensor> results;
  const int threads = at::get_num_threads();
  for (const int n : {1, 2, 3}) {
    at::set_num_threads(n);
    users_table.mutable_grad() = at::Tensor();
    items_table.mutable_grad() = at::Tensor();
    const auto loss =
        gathered_ranking_loss(users_table, items_table, users, items, RankingLoss::kSoftmax);
    loss.backward();
    results.push_back(torch::cat(
        {loss.detach().view({1}), users_table.grad().view(-1), items_table.grad().view(-1)}));
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(results[0], results[1]));
  EXPECT_TRUE(torch::equal(results[0], results[2]));
}

TEST_P(GatheredRankingLossParity, RefusesMismatchedInputs) {
  POLYPHONY_KERNEL_TARGET(target, GetParam());
  const auto options = torch::dtype(torch::kFloat).device(target.device);
  const auto users_table = torch::randn({4, 6}, options),
             items_table = torch::randn({5, 6}, options);
  const auto users = torch::randint(4, {3}, options.dtype(torch::kLong));
  const auto items = torch::randint(5, {3, 2}, options.dtype(torch::kLong));
  const auto bpr = RankingLoss::kBpr;
  EXPECT_THROW(gathered_ranking_loss(users_table, torch::randn({5, 7}, options), users, items, bpr),
               c10::Error);
  EXPECT_THROW(
      gathered_ranking_loss(users_table, items_table.to(torch::kDouble), users, items, bpr),
      c10::Error);
  EXPECT_THROW(gathered_ranking_loss(users_table, items_table, users.narrow(0, 0, 2), items, bpr),
               c10::Error);
  EXPECT_THROW(gathered_ranking_loss(users_table, items_table, users, items.narrow(1, 0, 1), bpr),
               c10::Error);
  EXPECT_THROW(gathered_ranking_loss(users_table, 9, users, items, bpr), c10::Error);
  if (target.device.is_cpu()) {  // CUDA stops the kernel (a device-side trap)
    EXPECT_THROW(gathered_ranking_loss(users_table, items_table, users + 4, items, bpr),
                 c10::Error);
    EXPECT_THROW(gathered_ranking_loss(users_table, items_table, users, items - 5, bpr),
                 c10::Error);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, GatheredRankingLossParity,
                         ::testing::ValuesIn(testing::kernel_test_targets()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polyphony
