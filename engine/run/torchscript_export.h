#pragma once
// Export of a trained model as a self-contained TorchScript archive for serving: loadable with
// torch.jit.load in Python and torch::jit::load in C++, on CPU or CUDA, with nothing of
// Polyphony linked. Scores are products of factors precomputed for every user and item (for
// ProtoMF: the shifted-cosine similarities after the top-k prototype filter; for the
// multi-interest framework: the largest product of the item with the user's center and
// interests), so the archive needs plain TorchScript ops only.
//
// The module's methods:
//   score(users: Tensor[B] int64, items: Tensor[B, n] int64) -> Tensor[B, n]
//   recommend(users: Tensor[B] int64, k: int) -> (items Tensor[B, k] int64, scores Tensor[B, k])
//       best first, the user's known items excluded, -1 / -inf where fewer than k are left
//   recommend_ids(users: List[str], k: int) -> List[List[str]]   (external ids in and out)
//   user_index(users: List[str]) -> Tensor   (external ids -> dense ids; -1 when unknown)
//   user_vectors(users: Tensor[B] int64) -> Tensor[B, M, F]   (the user side of the scores:
//       score = max over the M vectors of their product with the item's vector, item_factors)
//   known_items_of(user: int) -> Tensor   (the items recommend excludes for the user)
// and attributes user_ids, item_ids (List[str]), kind (str), config (str, JSON).

#include <filesystem>
#include <string>
#include <vector>

namespace polyphony {

class Recommender;
class UserItemIndex;
struct MaxProductFactors;

// Writes the archive; `known` lists each user's items to exclude from recommend. A model whose
// scores are not products of factors (Recommender::max_product_factors) is refused with a clear
// error. Returns the factors written (on the CPU), for the retrieval indexes of faiss_export.h.
MaxProductFactors export_torchscript(Recommender& model, const std::vector<std::string>& user_ids,
                                     const std::vector<std::string>& item_ids,
                                     const UserItemIndex& known, const std::filesystem::path& out);

}  // namespace polyphony
