#pragma once
// What the trainer keeps of each step's loss terms, on the training device: the epoch's sum of
// each term and of their total ("loss"), and whether every step so far had a finite loss. One
// kernel per step updates it (kernels/step_sums.h), so a step reads nothing on the host; the
// sums are read only at a check point (end of epoch, checkpoint, a loss report).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace polyphony {

class EpochLossSums {
 public:
  // Every step finite so far, no sums: the state of a fresh run on `device`.
  void start(const c10::Device& device);
  // A new epoch: the sums start again at zero, in place (the health carries on).
  void clear_sums();

  // One step's terms (name, float scalar on the device), each and their total weighted by `share`
  // (this process's part of the global batch); `also_finite` (undefined: none) is another value
  // the step's health depends on. No terms: a step this process had no rows of.
  void add_step(const std::vector<std::pair<std::string, at::Tensor>>& terms,
                const at::Tensor& also_finite, double share);

  // The epoch's sums by name ("loss" for the total), float64 scalars on the device.
  std::map<std::string, at::Tensor> sums() const;
  // Sets the sums (a resumed checkpoint's); the next step adds to them.
  void set_sums(const std::map<std::string, at::Tensor>& sums);

  // Host reads: whether every step so far had a finite loss, and how many steps came before the
  // first that did not.
  bool all_finite() const;
  int64_t finite_steps() const;
  // As checkpoints store them: a bool scalar and an int64 scalar.
  std::pair<at::Tensor, at::Tensor> health_for_checkpoint() const;
  void set_health(const at::Tensor& all_finite, const at::Tensor& finite_steps);

 private:
  // Makes `packed_` hold `names` (then "loss"), each starting from its sum in `from` (0 where
  // absent).
  void pack(const std::vector<std::string>& names, const std::map<std::string, at::Tensor>& from);

  std::vector<std::string> names_;  // the terms' names, in the order of packed_
  at::Tensor packed_;               // float64 [names + 1]: each term's sum, then the total's
  at::Tensor health_;               // float64 [2]: every step finite (1 or 0), finite steps
};

}  // namespace polyphony
