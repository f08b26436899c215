#include "engine/run/torchscript_export.h"

#include <torch/script.h>

#include <sstream>

#include <ATen/ops/arange.h>

#include "common/error.h"
#include "engine/data/user_item_index.h"
#include "engine/io/atomic_file.h"
#include "engine/run/run_directory.h"
#include "models/recommender.h"

namespace polyphony {
namespace {

// TorchScript source of the exported methods; the tensors are attributes of the module. A user
// has M vectors (user_factors [U, M, F]) and an item's score is the largest of their products.
constexpr const char* kMethods = R"JIT(
def score(self, users: Tensor, items: Tensor) -> Tensor:
    u = self.user_factors.index_select(0, users)
    v = self.item_factors.index_select(0, items.reshape(-1)).view(items.size(0), items.size(1), -1)
    return torch.bmm(v, u.transpose(1, 2)).amax(2)

def recommend(self, users: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    scores = torch.matmul(self.user_factors.index_select(0, users), self.item_factors.t()).amax(1)
    starts = self.known_indptr.index_select(0, users)
    counts = self.known_indptr.index_select(0, users + 1) - starts
    rows = torch.repeat_interleave(torch.arange(users.size(0), device=users.device), counts)
    first = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts)
    columns = self.known_items.index_select(0, first + torch.arange(rows.size(0), device=users.device))
    scores[rows, columns] = float("-inf")
    kept = min(k, scores.size(1))
    ordered = torch.sort(scores, dim=1, descending=True, stable=True)
    top_scores = ordered[0].narrow(1, 0, kept)
    top_items = ordered[1].narrow(1, 0, kept).masked_fill(top_scores == float("-inf"), -1)
    if kept < k:
        pad = users.size(0)
        top_items = torch.cat([top_items, torch.full([pad, k - kept], -1, dtype=top_items.dtype, device=top_items.device)], 1)
        top_scores = torch.cat([top_scores, torch.full([pad, k - kept], float("-inf"), dtype=top_scores.dtype, device=top_scores.device)], 1)
    return top_items, top_scores

def user_vectors(self, users: Tensor) -> Tensor:
    return self.user_factors.index_select(0, users)

def known_items_of(self, user: int) -> Tensor:
    start = int(self.known_indptr[user])
    return self.known_items.narrow(0, start, int(self.known_indptr[user + 1]) - start)

def user_index(self, users: List[str]) -> Tensor:
    dense: List[int] = []
    for user in users:
        dense.append(self.user_positions.get(user, -1))
    return torch.tensor(dense, dtype=self.known_indptr.dtype).to(self.user_factors.device)

def recommend_ids(self, users: List[str], k: int) -> List[List[str]]:
    dense = self.user_index(users)
    for i in range(len(users)):
        assert int(dense[i]) >= 0, "unknown user id '" + users[i] + "'"
    items = self.recommend(dense, k)[0].cpu()
    lists: List[List[str]] = []
    for row in range(len(users)):
        names: List[str] = []
        for j in range(k):
            item = int(items[row][j])
            if item >= 0:
                names.append(self.item_ids[item])
        lists.append(names)
    return lists
)JIT";

}  // namespace

MaxProductFactors export_torchscript(Recommender& model, const std::vector<std::string>& user_ids,
                                     const std::vector<std::string>& item_ids,
                                     const UserItemIndex& known, const std::filesystem::path& out) {
  torch::NoGradGuard no_grad;
  const auto device =
      model.parameters().empty() ? at::Device(at::kCPU) : model.parameters().front().device();
  const auto users = at::arange(static_cast<int64_t>(user_ids.size()),
                                at::TensorOptions().dtype(at::kLong).device(device));
  const auto factors = model.max_product_factors(users);
  if (!factors)
    fail("model '{}' cannot be exported: its scores are not products of user and item factors",
         model.kind());
  const auto& item_factors = factors->items;
  if (item_factors.size(0) != static_cast<int64_t>(item_ids.size()))
    fail("export: the model has {} items, the id map {}", item_factors.size(0), item_ids.size());

  const MaxProductFactors written{factors->users.detach().to(at::kFloat).cpu().contiguous(),
                                  item_factors.detach().to(at::kFloat).cpu().contiguous()};
  torch::jit::Module module("__torch__.polyphony.ExportedRecommender");
  module.register_buffer("user_factors", written.users);
  module.register_buffer("item_factors", written.items);
  module.register_buffer("known_indptr", known.indptr().cpu().contiguous());
  module.register_buffer("known_items", known.items().cpu().contiguous());
  c10::List<std::string> users_list, items_list;
  c10::Dict<std::string, int64_t> positions;
  for (size_t u = 0; u < user_ids.size(); ++u) {
    users_list.push_back(user_ids[u]);
    positions.insert(user_ids[u], static_cast<int64_t>(u));
  }
  for (const auto& id : item_ids) items_list.push_back(id);
  module.register_attribute("user_ids", c10::ListType::ofStrings(), users_list);
  module.register_attribute("item_ids", c10::ListType::ofStrings(), items_list);
  module.register_attribute("user_positions",
                            c10::DictType::create(c10::StringType::get(), c10::IntType::get()),
                            positions);
  module.register_attribute("kind", c10::StringType::get(), model.kind());
  module.register_attribute("config", c10::StringType::get(), model.config().dump());
  module.define(kMethods);
  // Serialised in memory first (as RunDirectory::save_model): a full disk or a read-only folder
  // is then one error naming the file, not an abort inside LibTorch's zip writer.
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomically(out, bytes.str());
  return written;
}

}  // namespace polyphony
