#pragma once
// TensorBoard's event files as bytes: Event protocol buffers (engine/track/tensorboard.proto)
// framed as TFRecords. Encoding only, no files: the protocol buffer headers stay in this one
// source, away from LibTorch's own (older) copy of them.
//
// A TFRecord is: length (uint64, little-endian), masked CRC-32C of the length bytes, the data,
// masked CRC-32C of the data; the mask is ((crc >> 15) | (crc << 17)) + 0xa282ead8
// (tensorflow/core/lib/hash/crc32c.h, the format TensorBoard's readers check).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace polyphony::tensorboard {

// The masked CRC-32C (Castagnoli) of `data`.
uint32_t masked_crc32c(std::string_view data);

// `data` as one TFRecord.
std::string frame_record(std::string_view data);

// The records at the start of `bytes`, up to the first one that is incomplete or whose checksums
// do not match (the tail a killed writer can leave); `valid_bytes` is where that one starts.
struct Records {
  std::vector<std::string> records;
  size_t valid_bytes = 0;
};
Records read_records(std::string_view bytes);

// Serialized Events (not framed).
// The first event of every file: file_version "brain.Event:2".
std::string file_version_event(double wall_time);
// Scalars as TensorBoard's simple_value (float32), one Summary at `step`.
std::string scalars_event(double wall_time, int64_t step,
                          const std::vector<std::pair<std::string, double>>& scalars);
// SessionLog START at `step`: readers drop the events written before it from `step` on.
std::string session_start_event(double wall_time, int64_t step);

// The hparams plugin: one session (a run), its hyper-parameters and its group (sessions of one
// group are repeats of one setting, e.g. seeds), then its end.
using HParamValue = std::variant<double, bool, std::string>;
struct HParam {
  std::string name;
  HParamValue value;
};
std::string hparams_start_event(double wall_time, const std::vector<HParam>& hparams,
                                const std::string& group_name, double start_time);
std::string hparams_end_event(double wall_time, int64_t step, bool success);

// Whether a run resumed from `resumed_step` keeps `event` from before: an Event up to that step
// that neither starts nor ends the hparams session (the resumed run starts it again, with the
// config it trains on, and ends it again).
bool kept_on_resume(std::string_view event, int64_t resumed_step);

}  // namespace polyphony::tensorboard
