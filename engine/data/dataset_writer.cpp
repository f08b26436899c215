#include "engine/data/dataset_writer.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "engine/io/atomic_file.h"

namespace polyphony {
namespace {

namespace fs = std::filesystem;

// Buffered output to a file that appears whole on commit.
class OutputFile {
 public:
  explicit OutputFile(fs::path path) : file_(std::move(path)) {}
  fmt::memory_buffer& buffer() { return buffer_; }
  void flush_if_full() {
    if (buffer_.size() >= (size_t{1} << 23)) flush();
  }
  fs::path commit() {
    flush();
    return file_.commit();
  }

 private:
  void flush() {
    file_.write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  AtomicFile file_;
  fmt::memory_buffer buffer_;
};

struct Columns {
  const int64_t* users;
  const int64_t* items;
  const float* weights;       // null: none
  const int64_t* timestamps;  // null: none
};

// Calls line(columns, k) for every interaction k.
template <typename Line>
void for_each_interaction(const Interactions& x, Line&& line) {
  const auto users = x.users.contiguous(), items = x.items.contiguous();
  const auto weights = x.weights.defined() ? x.weights.contiguous() : at::Tensor();
  const auto times = x.timestamps.defined() ? x.timestamps.contiguous() : at::Tensor();
  const Columns c{users.data_ptr<int64_t>(), items.data_ptr<int64_t>(),
                  weights.defined() ? weights.data_ptr<float>() : nullptr,
                  times.defined() ? times.data_ptr<int64_t>() : nullptr};
  for (int64_t k = 0; k < x.size(); ++k) line(c, k);
}

fs::path write_delimited(const Dataset& d, const fs::path& path, const char* header,
                         const char* delimiter, bool with_time, float default_weight) {
  OutputFile out(path);
  auto& b = out.buffer();
  if (header) fmt::format_to(std::back_inserter(b), "{}\n", header);
  for_each_interaction(d.interactions, [&](const Columns& c, int64_t k) {
    const float w = c.weights ? c.weights[k] : default_weight;
    fmt::format_to(std::back_inserter(b), "{}{}{}{}{}", c.users[k] + 1, delimiter, c.items[k] + 1,
                   delimiter, w);
    if (with_time)
      fmt::format_to(std::back_inserter(b), "{}{}", delimiter, c.timestamps ? c.timestamps[k] : 0);
    b.push_back('\n');
    out.flush_if_full();
  });
  return out.commit();
}

// `text` in double quotes, a quote inside doubled (RFC 4180, and pandas, which RecBole reads with).
std::string double_quoted(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_field(const std::string& text) {
  return text.find_first_of(",\"") == std::string::npos ? text : double_quoted(text);
}

// A token of a RecBole file: quoted when it holds a tab or a line end, or opens with a quote.
std::string recbole_token(const std::string& text) {
  const bool plain =
      text.find_first_of("\t\r\n") == std::string::npos && (text.empty() || text[0] != '"');
  return plain ? text : double_quoted(text);
}

// `x` as a table of external ids: `header` (its weight and timestamp columns when `x` has them),
// then a row per interaction, each id through `field`.
template <typename Field>
fs::path write_id_table(const Dataset& d, const Interactions& x, const fs::path& path,
                        const std::string& header, const std::string& weight_column,
                        const std::string& time_column, char delimiter, Field&& field) {
  OutputFile out(path);
  auto& b = out.buffer();
  const bool weights = x.weights.defined(), times = x.timestamps.defined();
  fmt::format_to(std::back_inserter(b), "{}{}{}\n", header,
                 weights ? delimiter + weight_column : "", times ? delimiter + time_column : "");
  for_each_interaction(x, [&](const Columns& c, int64_t k) {
    fmt::format_to(std::back_inserter(b), "{}{}{}", field(d.user_ids[c.users[k]]), delimiter,
                   field(d.item_ids[c.items[k]]));
    if (weights) fmt::format_to(std::back_inserter(b), "{}{}", delimiter, c.weights[k]);
    if (times) fmt::format_to(std::back_inserter(b), "{}{}", delimiter, c.timestamps[k]);
    b.push_back('\n');
    out.flush_if_full();
  });
  return out.commit();
}

fs::path write_csv(const Dataset& d, const fs::path& path) {
  return write_id_table(d, d.interactions, path, "user,item", "weight", "timestamp", ',',
                        csv_field);
}

// RecBole's .inter file of `x`: user_id, item_id, and rating and timestamp when `x` has them.
fs::path write_recbole_inter(const Dataset& d, const Interactions& x, const fs::path& path) {
  return write_id_table(d, x, path, "user_id:token\titem_id:token", "rating:float",
                        "timestamp:float", '\t', recbole_token);
}

fs::path write_adjacency(const Interactions& x, const fs::path& path) {
  // One line per user with items: "user item item ...", users in index order.
  const auto order = std::get<1>(x.users.sort(std::optional<bool>(true), 0));
  const auto users = x.users.index_select(0, order), items = x.items.index_select(0, order);
  const int64_t* u = users.data_ptr<int64_t>();
  const int64_t* i = items.data_ptr<int64_t>();
  OutputFile out(path);
  auto& b = out.buffer();
  for (int64_t k = 0; k < x.size(); ++k) {
    if (k == 0 || u[k] != u[k - 1]) {
      if (k) b.push_back('\n');
      fmt::format_to(std::back_inserter(b), "{}", u[k]);
    }
    fmt::format_to(std::back_inserter(b), " {}", i[k]);
    out.flush_if_full();
  }
  if (x.size()) b.push_back('\n');
  return out.commit();
}

// `first_id`: the id written for item 0 (1 in MovieLens-style files, 0 in LightGCN's); -1 keeps
// the external ids. `recbole`: an atomic .item file (typed header, tokens quoted as needed).
fs::path write_item_groups(const Dataset& d, const fs::path& path, int64_t first_id,
                           bool recbole = false) {
  const auto& g = d.item_groups;
  const auto group = g.group_of_item.contiguous();
  OutputFile out(path);
  auto& b = out.buffer();
  if (recbole)
    fmt::format_to(std::back_inserter(b), "item_id:token\t{}:token\n", g.attribute);
  else
    fmt::format_to(std::back_inserter(b), "id\t{}\n", g.attribute);
  for (int64_t i = 0; i < d.num_items; ++i) {
    const auto& name = g.names[group.data_ptr<int64_t>()[i]];
    const std::string value = name == "unknown" ? "" : name;  // unknown = no value
    if (first_id >= 0)
      fmt::format_to(std::back_inserter(b), "{}\t{}\n", i + first_id, value);
    else
      fmt::format_to(std::back_inserter(b), "{}\t{}\n",
                     recbole ? recbole_token(d.item_ids[i]) : d.item_ids[i], value);
  }
  return out.commit();
}

// A RecBole dataset is named after its folder.
std::string recbole_name(const fs::path& folder) {
  const fs::path named = folder.has_filename() ? folder : folder.parent_path();
  const std::string name = fs::absolute(named).lexically_normal().filename().string();
  if (name.empty() || name == "." || name == "..")
    fail("{}: a RecBole dataset is named after its folder; write it into a named folder",
         folder.string());
  return name;
}

// The files `format` writes for `d` (and `split`), in order.
std::vector<std::string> dataset_file_names(const Dataset& d, const std::string& format,
                                            const Split* split, const fs::path& folder) {
  std::vector<std::string> names;
  if (format == "recbole") {
    const std::string name = recbole_name(folder);
    if (split && split->valid.size())
      names = {name + ".train.inter", name + ".valid.inter", name + ".test.inter"};
    else if (split)
      names = {name + ".train.inter", name + ".test.inter"};
    else
      names = {name + ".inter"};
    if (d.item_groups.group_of_item.defined()) names.push_back(name + ".item");
    return names;
  }
  if (format == "movielens")
    names = {"ratings.dat"};
  else if (format == "ml100k")
    names = {"u.data"};
  else if (format == "lastfm-hetrec")
    names = {"user_artists.dat"};
  else if (format == "lfm")
    names = {"listening-counts.tsv"};
  else if (format == "csv")
    names = {"interactions.csv"};
  else if (format == "lightgcn" && split && split->valid.size())
    names = {"train.txt", "valid.txt", "test.txt"};
  else if (format == "lightgcn")
    names = {"train.txt", "test.txt"};
  else
    fail("`format` '{}': expected movielens, ml100k, lastfm-hetrec, lfm, lightgcn, csv or recbole",
         format);
  if (d.item_groups.group_of_item.defined()) names.push_back("items.tsv");
  return names;
}

// The RecBole files: NAME.inter, or the benchmark files NAME.train/.valid/.test.inter of a split,
// and NAME.item with the item groups.
std::vector<fs::path> write_recbole_files(const Dataset& d, const fs::path& folder,
                                          const std::vector<std::string>& names,
                                          const Split* split) {
  std::vector<fs::path> written;
  if (split) {
    written.push_back(write_recbole_inter(d, split->train, folder / names[0]));
    if (split->valid.size())
      written.push_back(write_recbole_inter(d, split->valid, folder / names[1]));
    written.push_back(
        write_recbole_inter(d, split->test, folder / names[split->valid.size() ? 2 : 1]));
  } else {
    written.push_back(write_recbole_inter(d, d.interactions, folder / names[0]));
  }
  if (d.item_groups.group_of_item.defined())
    written.push_back(write_item_groups(d, folder / names.back(), -1, /*recbole=*/true));
  return written;
}

// The interactions in `format` (not recbole), into `first`, or the split's adjacency lists.
fs::path write_interactions(const Dataset& d, const std::string& format, const fs::path& first,
                            const fs::path& folder, const Split* split,
                            std::vector<fs::path>& written) {
  if (format == "movielens") return write_delimited(d, first, nullptr, "::", true, 5);
  if (format == "ml100k") return write_delimited(d, first, nullptr, "\t", true, 5);
  if (format == "lastfm-hetrec")
    return write_delimited(d, first, "userID\tartistID\tweight", "\t", false, 1);
  if (format == "lfm") return write_delimited(d, first, "user_id\titem_id\tcount", "\t", false, 1);
  if (format == "csv") return write_csv(d, first);
  // lightgcn
  written.push_back(write_adjacency(split->train, folder / "train.txt"));
  if (split->valid.size()) written.push_back(write_adjacency(split->valid, folder / "valid.txt"));
  return write_adjacency(split->test, folder / "test.txt");
}

}  // namespace

std::vector<fs::path> write_dataset(const Dataset& d, const std::string& format,
                                    const fs::path& folder, const Split* split, bool replace) {
  if (format == "lightgcn" && !split)
    fail("datagen: the lightgcn format needs a split (its files are the split)");
  const auto names = dataset_file_names(d, format, split, folder);
  // Every file is checked before any is written, so a refusal leaves the folder as it was.
  std::error_code ec;
  if (!replace)
    for (const auto& name : names)
      if (fs::exists(folder / name, ec))
        fail("{}: already exists; it is not replaced unless asked (`force`)",
             (folder / name).string());
  fs::create_directories(folder, ec);
  if (ec) fail("{}: cannot create the folder: {}", folder.string(), ec.message());
  if (format == "recbole") return write_recbole_files(d, folder, names, split);
  std::vector<fs::path> written;
  written.push_back(write_interactions(d, format, folder / names.front(), folder, split, written));
  if (d.item_groups.group_of_item.defined())
    written.push_back(write_item_groups(d, folder / "items.tsv",
                                        format == "csv" ? -1 : (format == "lightgcn" ? 0 : 1)));
  return written;
}

}  // namespace polyphony
