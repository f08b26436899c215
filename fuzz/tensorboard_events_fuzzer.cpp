// TensorBoard event files a killed or foreign writer left in RUN/tensorboard/, as a resumed run
// reads them: the TFRecord framing (lengths, checksums, a cut tail), the Event protocol buffers
// inside, and the writer's cut-back of such a file. The first byte is the step resumed from.
// Contracts: the records read, framed again, are exactly the valid prefix of the input; after
// the cut-back the old file holds only records a resume keeps, and the new file starts cleanly.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "engine/track/tensorboard_events.h"
#include "engine/track/tensorboard_writer.h"
#include "fuzz/scratch_file.h"

using polyphony::fuzz::require;
namespace tb = polyphony::tensorboard;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int64_t resumed_step = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto read = tb::read_records(bytes);
  require(read.valid_bytes <= bytes.size(), "valid_bytes within the input");
  std::string framed;
  for (const auto& record : read.records) {
    framed += tb::frame_record(record);
    tb::kept_on_resume(record, resumed_step);
  }
  require(framed == bytes.substr(0, read.valid_bytes), "records are the valid prefix");

  const auto folder = polyphony::fuzz::scratch_folder() / "tensorboard";
  std::error_code ec;
  std::filesystem::remove_all(folder, ec);
  std::filesystem::create_directories(folder);
  const auto old_file = folder / "events.out.tfevents.0000000000.fuzz.000";
  polyphony::fuzz::write_scratch("tensorboard/" + old_file.filename().string(), data + 1,
                                 size - 1);
  {
    polyphony::TensorBoardWriter writer(folder, resumed_step);
    writer.scalars(resumed_step + 1, {{"losses/loss", 0.5}});
  }
  const auto kept = tb::read_records(read_file(old_file));
  require(kept.valid_bytes == read_file(old_file).size(), "the cut-back file is whole");
  for (const auto& record : kept.records)
    require(tb::kept_on_resume(record, resumed_step), "the cut-back keeps only kept records");
  const auto files = polyphony::event_files(folder);
  require(files.size() == 2, "one new event file");
  require(tb::read_records(read_file(files[1])).records.size() == 3,
          "the new file: version, START, scalars");
  return 0;
}
