// Checkpoint files: round trip, and every kind of damage detected with the file named.

#include <algorithm>
#include <fstream>

#include "engine/train/checkpoint.h"
#include "tests/test_support.h"

namespace polyphony {
namespace {

using testing::error_of;
using testing::read_file;
using testing::TempDir;

torch::serialize::OutputArchive archive_with(const at::Tensor& tensor, int64_t number) {
  torch::serialize::OutputArchive archive;
  archive.write("tensor", tensor, /*is_buffer=*/true);
  archive.write("number", number);
  return archive;
}

int64_t number_in(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  archive.read("number", value);
  return value.toInt();
}

void overwrite(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

TEST(Checkpoint, RoundTripsTensorsAndValues) {
  TempDir dir;
  const auto tensor = torch::randn({7, 3}, torch::kDouble);
  auto out = archive_with(tensor, 42);
  write_checkpoint_file(dir.path() / "a.ckpt", out);
  auto in = read_checkpoint_file(dir.path() / "a.ckpt");
  at::Tensor read;
  in.read("tensor", read, true);
  EXPECT_TRUE(torch::equal(read, tensor));
  EXPECT_EQ(number_in(in), 42);
}

TEST(Checkpoint, DetectsTruncationCorruptionAndForeignFiles) {
  TempDir dir;
  const auto path = dir.path() / "a.ckpt";
  auto out = archive_with(torch::randn({100}), 1);
  write_checkpoint_file(path, out);
  const std::string good = read_file(path);
  auto read = [&] { read_checkpoint_file(path); };

  overwrite(path, good.substr(0, good.size() - 10));
  EXPECT_CONTAINS(error_of(read), path.string() + " is truncated or padded");
  overwrite(path, good.substr(0, 12));
  EXPECT_CONTAINS(error_of(read), "is truncated (12 bytes");
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x20;
  overwrite(path, flipped);
  EXPECT_CONTAINS(error_of(read), path.string() + " is corrupt");
  overwrite(path, "user_id,item_id\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n");
  EXPECT_CONTAINS(error_of(read), "is not a polyphony checkpoint");
  // A flipped bit in the header (here its format field, after the magic) is damage.
  std::string newer = good;
  newer[8] = static_cast<char>(kCheckpointFormat + 1);
  overwrite(path, newer);
  EXPECT_EQ(error_of(read), "checkpoint " + path.string() + " is corrupt: its header is damaged");
  // A header without its check (as before it existed) with a higher format: a newer writer.
  std::fill(newer.begin() + 12, newer.begin() + 16, '\0');
  overwrite(path, newer);
  EXPECT_CONTAINS(error_of(read), "newer than this build of polyphony reads");
  EXPECT_CONTAINS(error_of([&] { read_checkpoint_file(dir.path() / "missing.ckpt"); }),
                  "missing.ckpt: cannot open it");
}

TEST(Checkpoint, AnArchiveLibTorchCannotImportIsAnErrorNotAnAbort) {
  // Found by fuzz/checkpoint_file_fuzzer: with the right checksum, an archive naming a type
  // TorchScript does not know made its importer throw torch::jit::ErrorReport (no c10::Error),
  // which ended the process. The payload here names a tensor rebuilder that does not exist.
  TempDir dir;
  const auto path = dir.path() / "a.ckpt";
  auto out = archive_with(torch::randn({4}), 1);
  write_checkpoint_file(path, out);
  const size_t header_bytes = checkpoint_file_bytes("").size();
  std::string payload = read_file(path).substr(header_bytes);
  const std::string known = "_rebuild_tensor_v2", unknown = "_rebuild_tensor_v9";
  const auto at = payload.find(known);
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, known.size(), unknown);
  const std::string file = checkpoint_file_bytes(payload);  // resealed: valid checksums
  overwrite(path, file);
  EXPECT_CONTAINS(error_of([&] { read_checkpoint_file(path); }),
                  "checkpoint " + path.string() + " cannot be read: ");
}

TEST(CheckpointDirectory, KeepsTheNewestAndTheBest) {
  TempDir dir;
  CheckpointDirectory checkpoints(dir.path() / "checkpoints", 2);
  for (int64_t step : {0, 5, 10, 15}) {
    auto out = archive_with(torch::zeros({1}), step);
    checkpoints.save(out, step, /*best=*/step == 5);
  }
  const auto files = checkpoints.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "step-000000015.ckpt");
  EXPECT_EQ(files[1].filename(), "step-000000010.ckpt");
  auto best = read_checkpoint_file(dir.path() / "checkpoints" / "best.ckpt");
  EXPECT_EQ(number_in(best), 5);
}

TEST(CheckpointDirectory, PassesOverDamagedCheckpointsToTheNewestGoodOne) {
  TempDir dir;
  CheckpointDirectory checkpoints(dir.path(), 3);
  for (int64_t step : {1, 2, 3}) {
    auto out = archive_with(torch::zeros({1}), step);
    checkpoints.save(out, step, false);
  }
  const auto newest = checkpoints.list().front();
  const std::string contents = read_file(newest);
  overwrite(newest, contents.substr(0, contents.size() / 2));  // a crash mid-copy, say
  auto found = checkpoints.newest_valid();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->path.filename(), "step-000000002.ckpt");
  EXPECT_EQ(number_in(found->archive), 2);
  ASSERT_EQ(found->skipped.size(), 1u);
  EXPECT_CONTAINS(found->skipped[0], "step-000000003.ckpt is truncated");

  // None good at all: an error, never a silent fresh start over the run's work.
  for (const auto& path : checkpoints.list()) overwrite(path, "garbage");
  EXPECT_CONTAINS(error_of([&] { checkpoints.newest_valid(); }), "no valid checkpoint in");
  // An empty folder: nothing to resume from, which is not an error.
  TempDir empty;
  EXPECT_FALSE(CheckpointDirectory(empty.path(), 1).newest_valid());
}

}  // namespace
}  // namespace polyphony
