#pragma once
// FAISS retrieval indexes of an exported model's item vectors, written beside its TorchScript
// archive (libfaiss; files any FAISS, such as Python's faiss-cpu, reads with read_index).
//
// A score is the largest inner product of the user's vectors (archive.user_vectors(users):
// [B, M, F], M = 1 but for the multi-interest framework) with the item's vector, so the indexes
// hold the item vectors under the inner-product metric and an index id is the dense item index
// (archive.item_ids[id]). A query searches each of the user's M vectors for k plus the number of
// the user's known items (archive.known_items_of(user)), drops the known items, takes each
// item's largest score and keeps the best k: exact with the flat index, because an item of the
// true top k is within the top k + known of the vector its score comes from.
//
// Files, for an archive OUT: OUT.flat.faiss (IndexFlatIP, exact), OUT.ivf.faiss (IndexIVFFlat)
// or OUT.hnsw.faiss (IndexHNSWFlat), and OUT.faiss.json describing them and the query.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace polyphony {

struct FaissIndexOptions {
  enum class Kind { flat, ivf, hnsw };
  /// The approximate index written beside the exact one (flat: the exact one alone).
  Kind kind = Kind::ivf;
  /// ivf: inverted lists (0: 4·√N, at most N / 39 so that k-means trains on 39 items per list).
  int64_t lists = 0;
  /// ivf: lists searched per query (0: a thirty-second of the lists, at least 8).
  int64_t probes = 0;
  /// hnsw: links per node, and the candidate lists of construction and search.
  int64_t hnsw_links = 32;
  int64_t ef_construction = 64;
  int64_t ef_search = 128;

  // "flat", "ivf" or "hnsw".
  std::string kind_name() const;
};

// Refuses settings out of range, naming the option.
void check_faiss_options(const FaissIndexOptions& options);

// Reads --faiss's value: flat, ivf or hnsw.
FaissIndexOptions::Kind parse_faiss_kind(const std::string& text);

// The files export_faiss_indexes writes beside `archive`, in order: the exact index, the
// approximate one (none for Kind::flat), the description.
std::vector<std::filesystem::path> faiss_index_files(const std::filesystem::path& archive,
                                                     FaissIndexOptions::Kind kind);

struct FaissExport {
  std::vector<std::filesystem::path> files;  // the indexes, then the description
  nlohmann::json description;                // what OUT.faiss.json holds
  /// The approximate index's recall@10 of the exact index's neighbours, over the vectors of up
  /// to 1000 users spread over the id range (NaN without an approximate index).
  double recall_at_10 = 0;
  int64_t recall_users = 0;
};

// Writes the indexes of `item_vectors` ([N, F]) for the archive `archive`, whose users'
// vectors are `user_vectors` ([U, M, F]; any floating dtype or device). Every file is written
// through a temporary name; a FAISS failure is an error naming the file.
FaissExport export_faiss_indexes(const at::Tensor& item_vectors, const at::Tensor& user_vectors,
                                 const std::filesystem::path& archive,
                                 const FaissIndexOptions& options);

}  // namespace polyphony
